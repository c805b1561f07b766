import { MoveAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import type { RunReport } from '../../commons/run';
import type { BusEvent } from '../../sandbox/core/event-log';
import { accountState, regionalState } from '../../sandbox/core/world';
import { defaultAccountId, defaultFaultLabel } from '../../sandbox/scenario/default-scenario';
import { busEvents } from '../../sandbox/services/organizations/membership';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

const MANAGEMENT = '999988887777';

/**
 * A configured scope through the state machine (issue 12 §3), with the default
 * CASBRIDGE_OUT_OF_SCOPE_ACTION=report: the Workloads OU and everything below it, but not
 * Workloads/Dev. Accounts outside it are skipped as out-of-scope and never fail; a move into it
 * onboards, a move out of it leaves the connector alone and says so. Each test builds on the one
 * before.
 */
describe('a deployment scoped to some OUs', () => {
  const sandbox = useSandbox({ accounts: 8 });
  const admin = () => new OrganizationsClient({ ...sandbox().clientConfig(), maxAttempts: 1 });
  const org = () => sandbox().world.organization;
  const line = (report: RunReport | undefined, id: string) =>
    report?.accounts.find((a) => a.accountId === id);
  const ouId = (path: string) => {
    let parent = org().rootId;
    for (const name of path.split('/'))
      parent = [...org().ous.values()].find((ou) => ou.parentId === parent && ou.name === name)!.id;
    return parent;
  };
  const connectorUser = (id: string) => accountState(sandbox().world, id).iam.users.get('cloudappsecurity');
  const offboardings = () => {
    const { accountId, region, topicArn } = sandbox().stack;
    return (regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? []).filter(
      (m) => (JSON.parse(m.message) as { type: string }).type === 'connector.offboarding',
    );
  };
  async function move(id: string, to: string): Promise<BusEvent> {
    const mark = sandbox().world.events.mark();
    await admin().send(
      new MoveAccountCommand({
        AccountId: id,
        SourceParentId: org().accounts.get(id)!.parentId,
        DestinationParentId: ouId(to),
      }),
    );
    const [event] = busEvents(sandbox().world, {
      sinceSeq: mark,
      account: MANAGEMENT,
      eventName: 'MoveAccount',
    });
    return event!;
  }

  // The invited account without the member role (the StackSet does not target its OU).
  const invited = defaultAccountId(7);
  const prod = defaultAccountId(6);

  beforeAll(async () => {
    setLambdaEnvironment(sandbox(), {
      CASBRIDGE_SCOPE_OUS: ouId('Workloads'),
      CASBRIDGE_SCOPE_EXCLUDED_OUS: ouId('Workloads/Dev'),
    });
  });

  it('skips every account outside the scope as out-of-scope and fails none of them: an account the StackSet does not reach is no RoleMissing', async () => {
    expect(defaultFaultLabel(7)).toBe('invited-no-role');

    const daily = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });

    const outside = daily
      .report!.accounts.filter((a) => a.skipReason === 'out-of-scope')
      .map((a) => a.accountId);
    // Workloads/Dev (1, 4, 7) is excluded, Sandbox (2, 5, 8) is not under Workloads.
    expect(outside).toEqual([1, 2, 4, 5, 7, 8].map(defaultAccountId));
    expect(line(daily.report, invited)).toMatchObject({ outcome: 'SKIPPED', ou: 'Workloads/Dev' });
    expect(daily.report!.summary.failuresByError.RoleMissing).toBeUndefined();
    // Workloads/Prod is in scope, recursively: its accounts are worked on.
    expect(line(daily.report, prod)).toMatchObject({ outcome: 'SUCCEEDED', ou: 'Workloads/Prod' });
    expect(connectorUser(defaultAccountId(1))).toBeUndefined();
  });

  it('onboards an account moved into the scope when its MoveAccount arrives', async () => {
    const id = defaultAccountId(1);
    const outcome = await runStateMachine(sandbox(), await move(id, 'Workloads/Prod'));

    expect(outcome.report).toMatchObject({ mode: 'onboard', trigger: { eventName: 'MoveAccount' } });
    expect(outcome.report!.accounts).toMatchObject([
      { accountId: id, ou: 'Workloads/Prod', outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' },
    ]);
  });

  it('leaves the connector of an account moved out of the scope in place, and reports it out-of-scope', async () => {
    const outcome = await runStateMachine(sandbox(), await move(prod, 'Suspended'));

    expect(outcome.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(outcome.report!.accounts).toMatchObject([
      {
        accountId: prod,
        ou: 'Suspended',
        outcome: 'SKIPPED',
        skipReason: 'out-of-scope',
        connector: 'AWAITING_CONNECTION',
      },
    ]);
    expect(connectorUser(prod)).toBeDefined();
    expect(offboardings()).toEqual([]);
    const daily = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });
    expect(line(daily.report, prod)).toMatchObject({ outcome: 'SKIPPED', skipReason: 'out-of-scope' });
  });

  it('keeps a run that names an account outside the scope to the scope, and lets an offboard run retire it', async () => {
    const named = await runStateMachine(sandbox(), { mode: 'onboard', accounts: [defaultAccountId(2)] });
    expect(named.report!.accounts).toMatchObject([
      { accountId: defaultAccountId(2), outcome: 'SKIPPED', skipReason: 'out-of-scope' },
    ]);
    expect(connectorUser(defaultAccountId(2))).toBeUndefined();

    const retired = await runStateMachine(sandbox(), { mode: 'offboard', accounts: [prod] });
    expect(line(retired.report, prod)).toMatchObject({ outcome: 'SUCCEEDED', connector: 'RETIRED' });
    expect(connectorUser(prod)).toBeUndefined();
  });
});
