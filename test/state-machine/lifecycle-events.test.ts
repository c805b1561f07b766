import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AcceptHandshakeCommand,
  CloseAccountCommand,
  InviteAccountToOrganizationCommand,
  LeaveOrganizationCommand,
  MoveAccountCommand,
  OrganizationsClient,
  RemoveAccountFromOrganizationCommand,
} from '@aws-sdk/client-organizations';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RunReport } from '../../commons/run';
import type { BusEvent } from '../../sandbox/core/event-log';
import { accountState, regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import {
  addStandaloneAccount,
  busEvents,
  CLOSURE_MS,
  POST_CLOSURE_MS,
} from '../../sandbox/services/organizations/membership';
import { FIXTURES_DIR } from '../support/event-fixtures';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { operatorLedger } from '../support/operator-ledger';
import { assumeRole, useSandbox } from '../support/sandbox';

const MANAGEMENT = '999988887777';

/**
 * Each lifecycle event, as the sandbox emits it when the organization changes, handed to the
 * state machine as an EventBridge rule hands it, and the reconcile that catches what an event
 * missed (issue 12 §1, §2): a departed account's central records cleaned up (its secret
 * scheduled for deletion, the ledger DEPARTED, one removal hand-off naming the connector
 * instance), a joined account onboarded unless the organization created it, a moved one in its
 * new OU, and an account offboarded by hand left RETIRED until a run names it.
 */
describe('the state machine started by a lifecycle event', () => {
  const sandbox = useSandbox({ accounts: 8 });
  const admin = () => new OrganizationsClient({ ...sandbox().clientConfig(), maxAttempts: 1 });
  const secrets = () => new SecretsManagerClient(sandbox().clientConfig());
  const org = () => sandbox().world.organization;
  const worked = (report: RunReport) => report.accounts.filter((a) => a.outcome !== 'SKIPPED');
  const line = (report: RunReport | undefined, id: string) =>
    report?.accounts.find((a) => a.accountId === id);
  // The ledger as `casbridge status` reads it: the operator's credentials.
  const ledger = () => operatorLedger(sandbox());
  /** The hand-off topic's messages of one `type` about one account, as subscribers read them. */
  const messages = (type: string, id: string) => {
    const { accountId, region, topicArn } = sandbox().stack;
    return (regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? [])
      .map((m) => ({ ...m, body: JSON.parse(m.message) as Record<string, unknown> }))
      .filter((m) => m.body.type === type && m.body.accountId === id);
  };
  const secretOf = (id: string) =>
    secrets().send(new DescribeSecretCommand({ SecretId: `casbridge/connector/${id}` }));
  const connectorUser = (id: string) => accountState(sandbox().world, id).iam.users.get('cloudappsecurity');
  const fixture = (name: string) =>
    JSON.parse(readFileSync(path.join(FIXTURES_DIR, name), 'utf8')) as BusEvent;

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
  });

  function emitted(mark: number, eventName: string): BusEvent {
    const events = busEvents(sandbox().world, { sinceSeq: mark, account: MANAGEMENT, eventName });
    expect(events).toHaveLength(1);
    return events[0]!;
  }

  /** Onboards the account and returns its line: handed off, AWAITING_CONNECTION, a secret kept. */
  async function onboard(id: string) {
    const outcome = await runStateMachine(sandbox(), { mode: 'onboard', accounts: [id] });
    expect(line(outcome.report, id)).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'AWAITING_CONNECTION',
    });
    return line(outcome.report, id)!;
  }

  /** What every departure leaves: the secret scheduled, DEPARTED in the ledger, one removal message. */
  async function expectDeparted(id: string, name: string) {
    expect((await secretOf(id)).DeletedDate).toBeInstanceOf(Date);
    expect(await ledger().get(id)).toMatchObject({
      connector: 'DEPARTED',
      lastOutcome: 'SUCCEEDED',
      lastMode: 'depart',
      departedAt: expect.any(String),
      secretArn: null,
    });
    const removals = messages('connector.removal', id);
    expect(removals).toHaveLength(1);
    expect(removals[0]!.body).toMatchObject({
      instanceName: `${name} (${id})`,
      remainingInAccount: expect.stringContaining(`arn:aws:iam::${id}:user/casbridge/CloudAppSecurity`),
    });
    expect(removals[0]!.subject?.startsWith(`casbridge: remove connector instance ${name} (${id})`)).toBe(
      true,
    );
    // Nothing is done in the account: casbridge no longer reaches it, and it may be someone else's.
    expect(connectorUser(id)).toBeDefined();
  }

  it('leaves an account the organization created to its CreateAccountResult: its AccountJoinedOrganization works on nothing', async () => {
    const event = fixture('account-joined-organization.created.json');
    const calls = sandbox().world.callLog.mark();

    const outcome = await runStateMachine(sandbox(), event);

    expect(outcome.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(outcome.report!.accounts).toEqual([
      expect.objectContaining({
        accountId: defaultAccountId(1),
        outcome: 'SKIPPED',
        skipReason: 'joined-by-creation',
      }),
    ]);
    // No account was read or touched: the event's remembered, the run's files written, nothing else.
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: calls })
        .filter((c) => !c.readOnly && c.service !== 's3' && c.service !== 'sns')
        .map((c) => `${c.service}:${c.operation}`),
    ).toEqual(['dynamodb:PutItem']);
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
    expect(await ledger().get(id)).toMatchObject({ ou: 'Security' });
  });

  it('cleans up the central records of an account removed from the organization, once, and hands off the removal of its connector instance', async () => {
    const id = defaultAccountId(2);
    const { name } = await onboard(id);
    const mark = sandbox().world.events.mark();
    await admin().send(new RemoveAccountFromOrganizationCommand({ AccountId: id }));
    const event = emitted(mark, 'AccountDepartedOrganization');
    const calls = sandbox().world.callLog.mark();

    const outcome = await runStateMachine(sandbox(), event);

    expect(outcome.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(outcome.report).toMatchObject({
      mode: 'offboard',
      trigger: { type: 'organizations-event', eventName: 'AccountDepartedOrganization' },
    });
    expect(outcome.report!.accounts).toMatchObject([
      {
        accountId: id,
        name,
        outcome: 'SUCCEEDED',
        connector: 'DEPARTED',
        steps: {
          depart: {
            action: 'updated',
            reason: 'removal-handoff-sent',
            details: { secretDeletionScheduled: true, accountReachable: false, sns: 'delivered' },
          },
        },
      },
    ]);
    await expectDeparted(id, name);
    // The Depart task's whole work: the claim, the secret's deletion, the one removal message.
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: calls })
        .filter((c) => c.callerArn?.includes('/casbridge-dev-depart/'))
        .map((c) => `${c.service}:${c.operation}`),
    ).toEqual([
      'dynamodb:UpdateItem',
      'secretsmanager:DescribeSecret',
      'secretsmanager:DeleteSecret',
      'sns:Publish',
    ]);
    // The departed account is never called: no AssumeRole into it, nothing in its IAM.
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: calls })
        .filter((c) => c.account === id || c.operation === 'AssumeRole'),
    ).toEqual([]);

    // EventBridge delivers again: the second execution works on nothing and names the first run.
    const again = await runStateMachine(sandbox(), event);
    expect(again.report!.accounts).toMatchObject([
      {
        accountId: id,
        outcome: 'SKIPPED',
        skipReason: 'duplicate-event',
        handledByRunId: outcome.report!.runId,
      },
    ]);
    // And the daily reconcile has nothing left to do for it: not a target, not a line.
    const daily = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });
    expect(line(daily.report, id)).toBeUndefined();
    expect(messages('connector.removal', id)).toHaveLength(1);
  });

  it('cleans up after an account that left the organization by itself', async () => {
    const id = defaultAccountId(4);
    const { name } = await onboard(id);
    const mark = sandbox().world.events.mark();
    const member = await assumeRole(sandbox(), `arn:aws:iam::${id}:role/OrganizationAccountAccessRole`);
    await new OrganizationsClient({ ...sandbox().clientConfig(member), maxAttempts: 1 }).send(
      new LeaveOrganizationCommand({}),
    );
    const event = emitted(mark, 'AccountDepartedOrganization');
    expect(event.detail.serviceEventDetails).toMatchObject({ departureMethod: 'LEFT' });

    const outcome = await runStateMachine(sandbox(), event);

    expect(outcome.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(line(outcome.report, id)).toMatchObject({ outcome: 'SUCCEEDED', connector: 'DEPARTED' });
    await expectDeparted(id, name);
  });

  it('finds a departure whose event it never saw on the next reconcile, and cleans up the same way', async () => {
    const id = defaultAccountId(5);
    const { name } = await onboard(id);
    // Removed while casbridge's rule was off, say: the event never reaches the state machine.
    await admin().send(new RemoveAccountFromOrganizationCommand({ AccountId: id }));

    // A plan first: the departure is predicted and nothing is changed.
    const plan = await runStateMachine(sandbox(), { mode: 'reconcile', dryRun: true });
    expect(line(plan.report, id)).toMatchObject({
      outcome: 'SUCCEEDED',
      steps: {
        depart: { action: 'updated', reason: 'dry-run', details: { planned: 'removal-handoff-sent' } },
      },
    });
    expect((await secretOf(id)).DeletedDate).toBeUndefined();
    expect(await ledger().get(id)).toMatchObject({ connector: 'AWAITING_CONNECTION' });
    expect(messages('connector.removal', id)).toEqual([]);

    const daily = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });

    expect(line(daily.report, id)).toMatchObject({
      name,
      outcome: 'SUCCEEDED',
      connector: 'DEPARTED',
      steps: { depart: { reason: 'removal-handoff-sent' } },
    });
    await expectDeparted(id, name);
    const next = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });
    expect(line(next.report, id)).toBeUndefined();
    expect(messages('connector.removal', id)).toHaveLength(1);
  });

  it('keeps an account offboarded by hand RETIRED through reconciles and events, until a run names it for onboarding', async () => {
    const id = defaultAccountId(6);
    await onboard(id);
    const offboarded = await runStateMachine(sandbox(), { mode: 'offboard', accounts: [id] });
    expect(line(offboarded.report, id)).toMatchObject({ outcome: 'SUCCEEDED', connector: 'RETIRED' });
    expect(connectorUser(id)).toBeUndefined();
    expect(messages('connector.offboarding', id)).toMatchObject([
      { body: { reason: 'offboarded-by-operator' } },
    ]);

    // The daily reconcile does not bring it back, nor does an event about it.
    const daily = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });
    expect(line(daily.report, id)).toMatchObject({
      outcome: 'SKIPPED',
      skipReason: 'retired',
      connector: 'RETIRED',
    });
    const infrastructure = [...org().ous.values()].find((ou) => ou.name === 'Infrastructure')!.id;
    const mark = sandbox().world.events.mark();
    await admin().send(
      new MoveAccountCommand({
        AccountId: id,
        SourceParentId: org().accounts.get(id)!.parentId,
        DestinationParentId: infrastructure,
      }),
    );
    const moved = await runStateMachine(sandbox(), emitted(mark, 'MoveAccount'));
    expect(moved.report!.accounts).toMatchObject([
      { accountId: id, outcome: 'SKIPPED', skipReason: 'retired' },
    ]);
    expect(connectorUser(id)).toBeUndefined();

    // Named, it is onboarded again: its secret restored from its scheduled deletion, a new hand-off.
    const named = await runStateMachine(sandbox(), { mode: 'reconcile', accounts: [id] });
    expect(line(named.report, id)).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'AWAITING_CONNECTION',
      steps: { accessKey: { reason: 'secret-restored' } },
    });
    expect(connectorUser(id)).toBeDefined();
    const later = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });
    expect(line(later.report, id)).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
  });

  // After the reconciles: its role is not ready for minutes, and the retries that wait for it move
  // the sandbox's clock by hours, past the lifetime of the function roles' sessions.
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
    expect(outcome.report).toMatchObject({
      mode: 'onboard',
      trigger: { type: 'organizations-event', eventName: 'AccountJoinedOrganization' },
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

  // Last: it moves the sandbox's clock past the 90-day post-closure period.
  it('cleans up after an account cleaned out of the organization at the end of its post-closure period', async () => {
    const id = defaultAccountId(8);
    const { name } = await onboard(id);
    await admin().send(new CloseAccountCommand({ AccountId: id }));
    // Its CloseAccountResult is lost; 90 days later it departs as Cleaned.
    sandbox().world.clock.advance(CLOSURE_MS + POST_CLOSURE_MS);
    const event = busEvents(sandbox().world, {
      account: MANAGEMENT,
      eventName: 'AccountDepartedOrganization',
    }).find((e) => (e.detail.serviceEventDetails as { accountId?: string }).accountId === id)!;
    expect(event.detail.serviceEventDetails).toMatchObject({ departureMethod: 'CLEANED' });

    const outcome = await runStateMachine(sandbox(), event);

    expect(line(outcome.report, id)).toMatchObject({ outcome: 'SUCCEEDED', connector: 'DEPARTED' });
    await expectDeparted(id, name);
  });
});
