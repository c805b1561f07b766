import {
  AcceptHandshakeCommand,
  CloseAccountCommand,
  InviteAccountToOrganizationCommand,
  MoveAccountCommand,
  OrganizationsClient,
  RemoveAccountFromOrganizationCommand,
} from '@aws-sdk/client-organizations';
import type { RunReport } from '../../commons/run';
import type { BusEvent } from '../../sandbox/core/event-log';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { addStandaloneAccount, busEvents, CLOSURE_MS } from '../../sandbox/services/organizations/membership';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

const MANAGEMENT = '999988887777';

/**
 * Each lifecycle event, as the sandbox emits it when the organization changes, handed to the
 * state machine as an EventBridge rule hands it. The machine plans every event as an onboard run
 * of its account today: these pin what a run does with each, for the handling that is to come
 * (a departed account's run is refused before it starts; a closed account is skipped).
 */
describe('the state machine started by a lifecycle event', () => {
  const sandbox = useSandbox({ accounts: 20 });
  const admin = () => new OrganizationsClient({ ...sandbox().clientConfig(), maxAttempts: 1 });
  const org = () => sandbox().world.organization;
  const worked = (report: RunReport) => report.accounts.filter((a) => a.outcome !== 'SKIPPED');

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
  });

  function emitted(mark: number, eventName: string): BusEvent {
    const events = busEvents(sandbox().world, { sinceSeq: mark, account: MANAGEMENT, eventName });
    expect(events).toHaveLength(1);
    return events[0]!;
  }

  it('works on an invited account that joined, whose role is not there yet: RoleNotReady, as for any account that just joined', async () => {
    const id = '300000000001';
    const invitee = addStandaloneAccount(sandbox().world, {
      id,
      name: 'acquired',
      email: 'aws+acquired@example.com',
    });
    const mark = sandbox().world.events.mark();
    const { Handshake } = await admin().send(
      new InviteAccountToOrganizationCommand({ Target: { Type: 'ACCOUNT', Id: id } }),
    );
    await new OrganizationsClient(sandbox().clientConfig(invitee)).send(
      new AcceptHandshakeCommand({ HandshakeId: Handshake!.Id }),
    );

    const outcome = await runStateMachine(sandbox(), emitted(mark, 'AccountJoinedOrganization'));

    expect(outcome.execution).toMatchObject({ status: 'FAILED', error: 'AccountsFailed' });
    expect(outcome.report?.trigger).toMatchObject({
      type: 'organizations-event',
      eventName: 'AccountJoinedOrganization',
    });
    expect(worked(outcome.report!)).toMatchObject([
      {
        accountId: id,
        outcome: 'FAILED',
        // The access step gives a new account minutes for its role; an invited one gets none until
        // the StackSet reaches it (RoleMissing once that window is over).
        error: { name: 'RoleNotReady', step: 'access' },
      },
    ]);
  });

  it('onboards a moved account in its new OU', async () => {
    const id = defaultAccountId(1);
    const security = [...org().ous.values()].find((ou) => ou.name === 'Security')!.id;
    const mark = sandbox().world.events.mark();
    await admin().send(
      new MoveAccountCommand({
        AccountId: id,
        SourceParentId: org().accounts.get(id)!.parentId,
        DestinationParentId: security,
      }),
    );

    const outcome = await runStateMachine(sandbox(), emitted(mark, 'MoveAccount'));

    expect(outcome.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(worked(outcome.report!)).toMatchObject([{ accountId: id, ou: 'Security', outcome: 'SUCCEEDED' }]);
  });

  it('skips a closed account by its State, working on no account', async () => {
    const id = defaultAccountId(2);
    const mark = sandbox().world.events.mark();
    await admin().send(new CloseAccountCommand({ AccountId: id }));
    sandbox().world.clock.advance(CLOSURE_MS);

    const outcome = await runStateMachine(sandbox(), emitted(mark, 'CloseAccountResult'));

    expect(outcome.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(outcome.report!.accounts).toMatchObject([
      { accountId: id, outcome: 'SKIPPED', skipReason: 'closed' },
    ]);
  });

  it('does not start a run for a departed account, which is no longer in the organization, and writes nothing', async () => {
    const id = defaultAccountId(4);
    const mark = sandbox().world.events.mark();
    await admin().send(new RemoveAccountFromOrganizationCommand({ AccountId: id }));
    const event = emitted(mark, 'AccountDepartedOrganization');
    const calls = sandbox().world.callLog.mark();

    const outcome = await runStateMachine(sandbox(), event);

    expect(outcome.startError).toMatchObject({
      name: 'InvalidRunInput',
      message: expect.stringContaining(
        `account ${id} of event ${event.id} is not an account of the organization`,
      ),
    });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: calls })
        .filter((c) => !c.readOnly),
    ).toEqual([]);
  });
});
