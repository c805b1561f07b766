import { MoveAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import type { RunReport } from '../../commons/run';
import type { BusEvent } from '../../sandbox/core/event-log';
import { accountState, regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { busEvents } from '../../sandbox/services/organizations/membership';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

const MANAGEMENT = '999988887777';

/**
 * A scope of Workloads/Prod with CASBRIDGE_OUT_OF_SCOPE_ACTION=offboard (issue 12 §3): an account
 * casbridge connected that moves out of the scope is offboarded (OFFBOARDED, not retired: a move
 * back onboards it again), by its MoveAccount or, when that event is missed, by the next reconcile.
 * An account casbridge never connected is only skipped. Each test builds on the one before.
 */
describe('a deployment that offboards what leaves its scope', () => {
  const sandbox = useSandbox({ accounts: 6 });
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
  const offboardings = (id: string) => {
    const { accountId, region, topicArn } = sandbox().stack;
    return (regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? [])
      .map((m) => JSON.parse(m.message) as { type: string; accountId: string; reason?: string })
      .filter((m) => m.type === 'connector.offboarding' && m.accountId === id);
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
  const prod = defaultAccountId(6);

  beforeAll(async () => {
    setLambdaEnvironment(sandbox(), {
      CASBRIDGE_SCOPE_OUS: ouId('Workloads/Prod'),
      CASBRIDGE_OUT_OF_SCOPE_ACTION: 'offboard',
    });
    const onboarded = await runStateMachine(sandbox(), { mode: 'onboard', accounts: [prod] });
    expect(line(onboarded.report, prod)).toMatchObject({ outcome: 'SUCCEEDED' });
  });

  it('offboards a connected account moved out of the scope when its MoveAccount arrives', async () => {
    const outcome = await runStateMachine(sandbox(), await move(prod, 'Sandbox'));

    expect(outcome.report).toMatchObject({ mode: 'offboard', trigger: { eventName: 'MoveAccount' } });
    expect(outcome.report!.accounts).toMatchObject([
      {
        accountId: prod,
        ou: 'Sandbox',
        outcome: 'SUCCEEDED',
        connector: 'OFFBOARDED',
        steps: { offboard: { action: 'updated', details: { userDeleted: true } } },
      },
    ]);
    expect(connectorUser(prod)).toBeUndefined();
    expect(offboardings(prod)).toMatchObject([{ reason: 'out-of-scope' }]);
  });

  it('onboards it again when it moves back into the scope', async () => {
    const outcome = await runStateMachine(sandbox(), await move(prod, 'Workloads/Prod'));

    expect(outcome.report).toMatchObject({ mode: 'onboard' });
    expect(outcome.report!.accounts).toMatchObject([
      { accountId: prod, outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' },
    ]);
    expect(connectorUser(prod)).toBeDefined();
  });

  it('offboards on the next reconcile an account whose move out of the scope it never saw, and only skips those it never connected', async () => {
    await move(prod, 'Workloads/Dev');

    const daily = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });

    expect(line(daily.report, prod)).toMatchObject({ outcome: 'SUCCEEDED', connector: 'OFFBOARDED' });
    expect(connectorUser(prod)).toBeUndefined();
    expect(offboardings(prod)).toHaveLength(2);
    expect(line(daily.report, defaultAccountId(1))).toMatchObject({
      outcome: 'SKIPPED',
      skipReason: 'out-of-scope',
    });
    expect(offboardings(defaultAccountId(1))).toEqual([]);
  });
});
