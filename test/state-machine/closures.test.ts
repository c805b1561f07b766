import { CloseAccountCommand, OrganizationsClient } from '@aws-sdk/client-organizations';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RunReport } from '../../commons/run';
import type { BusEvent } from '../../sandbox/core/event-log';
import { accountState, regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { busEvents, CLOSURE_MS, POST_CLOSURE_MS } from '../../sandbox/services/organizations/membership';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { operatorLedger } from '../support/operator-ledger';
import { useSandbox } from '../support/sandbox';

const MANAGEMENT = '999988887777';

/**
 * Closed and suspended accounts through the state machine (issue 12 §2): what can still be
 * reached is offboarded, the rest recorded, the connector's removal handed off, and the account
 * OFFBOARDED: not retired, so an account AWS gives back is onboarded again. At the end of its
 * post-closure period a closed account departs (Cleaned) and is DEPARTED, without a second
 * message. Each test builds on the one before.
 */
describe('closed and suspended accounts', () => {
  const sandbox = useSandbox({ accounts: 6 });
  const admin = () => new OrganizationsClient({ ...sandbox().clientConfig(), maxAttempts: 1 });
  const secrets = () => new SecretsManagerClient(sandbox().clientConfig());
  const line = (report: RunReport | undefined, id: string) =>
    report?.accounts.find((a) => a.accountId === id);
  const ledger = () => operatorLedger(sandbox());
  const messages = (type: string, id: string) => {
    const { accountId, region, topicArn } = sandbox().stack;
    return (regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? [])
      .map((m) => JSON.parse(m.message) as Record<string, unknown>)
      .filter((m) => m.type === type && m.accountId === id);
  };
  const secretOf = (id: string) =>
    secrets().send(new DescribeSecretCommand({ SecretId: `casbridge/connector/${id}` }));
  const connectorUser = (id: string) => accountState(sandbox().world, id).iam.users.get('cloudappsecurity');
  const closeEvent = (id: string): BusEvent =>
    busEvents(sandbox().world, { account: MANAGEMENT, eventName: 'CloseAccountResult' }).find(
      (e) =>
        (e.detail.serviceEventDetails as { closeAccountStatus: { accountId: string } }).closeAccountStatus
          .accountId === id,
    )!;

  beforeAll(async () => {
    setLambdaEnvironment(sandbox());
    const onboarded = await runStateMachine(sandbox(), {
      mode: 'onboard',
      accounts: [defaultAccountId(1), defaultAccountId(2), defaultAccountId(4)],
    });
    expect(onboarded.report!.summary.byOutcome.SUCCEEDED).toBe(3);
  });

  it('offboards a suspended account casbridge connected, and onboards it again once AWS reinstates it', async () => {
    const id = defaultAccountId(1);
    const account = sandbox().world.organization.accounts.get(id)!;
    account.state = 'SUSPENDED';

    const daily = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });

    expect(line(daily.report, id)).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'OFFBOARDED',
      steps: { offboard: { action: 'updated' } },
    });
    expect(messages('connector.offboarding', id)).toMatchObject([{ reason: 'suspended' }]);
    expect((await secretOf(id)).DeletedDate).toBeInstanceOf(Date);
    // Offboarded once: the next run only skips it, by its State.
    const next = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });
    expect(line(next.report, id)).toMatchObject({
      outcome: 'SKIPPED',
      skipReason: 'suspended',
      connector: 'OFFBOARDED',
    });
    expect(messages('connector.offboarding', id)).toHaveLength(1);

    account.state = 'ACTIVE';
    const back = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });
    expect(line(back.report, id)).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
    expect(connectorUser(id)).toBeDefined();
  });

  it('offboards an account being closed on the next reconcile, while its role can still be assumed', async () => {
    const id = defaultAccountId(2);
    await admin().send(new CloseAccountCommand({ AccountId: id }));
    expect(sandbox().world.organization.accounts.get(id)?.state).toBe('PENDING_CLOSURE');

    const daily = await runStateMachine(sandbox(), { mode: 'reconcile', trigger: 'schedule' });

    expect(line(daily.report, id)).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'OFFBOARDED',
      steps: { offboard: { action: 'updated', details: { userDeleted: true, policyDeleted: true } } },
    });
    expect(connectorUser(id)).toBeUndefined();
    expect(messages('connector.offboarding', id)).toMatchObject([
      { reason: 'pending-closure', accountCleanup: 'complete' },
    ]);
  });

  it('offboards what a CloseAccountResult leaves reachable, the central records, and records what stays in the account', async () => {
    const id = defaultAccountId(4);
    await admin().send(new CloseAccountCommand({ AccountId: id }));
    sandbox().world.clock.advance(CLOSURE_MS);

    const outcome = await runStateMachine(sandbox(), closeEvent(id));

    expect(outcome.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(outcome.report).toMatchObject({ mode: 'offboard', trigger: { eventName: 'CloseAccountResult' } });
    expect(outcome.report!.accounts).toMatchObject([
      {
        accountId: id,
        outcome: 'SUCCEEDED',
        connector: 'OFFBOARDED',
        steps: {
          offboard: {
            reason: 'account-unreachable-central-cleanup-only',
            details: {
              accountReachable: false,
              secretDeletionScheduled: true,
              remainingInAccount: expect.stringContaining(
                `arn:aws:iam::${id}:user/casbridge/CloudAppSecurity`,
              ),
            },
          },
        },
      },
    ]);
    // A CLOSED account's roles cannot be assumed: the connector user stays, and the operator knows.
    expect(connectorUser(id)).toBeDefined();
    expect((await secretOf(id)).DeletedDate).toBeInstanceOf(Date);
    const [message] = messages('connector.offboarding', id);
    expect(message).toMatchObject({ reason: 'closed', accountCleanup: 'pending' });
    expect(await ledger().get(id)).toMatchObject({ connector: 'OFFBOARDED', lastMode: 'auto-offboard' });
  });

  it('skips a closed account casbridge never connected: nothing of it to offboard', async () => {
    // Its onboarding always failed (a foreign user holds the connector's name): no key, no hand-off.
    const id = defaultAccountId(3);
    expect(await ledger().get(id)).toMatchObject({ connector: 'NOT_REGISTERED', lastOutcome: 'FAILED' });
    await admin().send(new CloseAccountCommand({ AccountId: id }));
    sandbox().world.clock.advance(CLOSURE_MS);

    const outcome = await runStateMachine(sandbox(), closeEvent(id));

    expect(outcome.execution).toMatchObject({ status: 'SUCCEEDED' });
    expect(outcome.report!.accounts).toMatchObject([
      { accountId: id, outcome: 'SKIPPED', skipReason: 'closed' },
    ]);
    expect(messages('connector.offboarding', id)).toEqual([]);
  });

  // Last: it moves the sandbox's clock past the 90-day post-closure period.
  it('records the departure of a closed account cleaned out of the organization, telling the operator nothing twice', async () => {
    const id = defaultAccountId(4);
    sandbox().world.clock.advance(POST_CLOSURE_MS);
    const departed = busEvents(sandbox().world, {
      account: MANAGEMENT,
      eventName: 'AccountDepartedOrganization',
    }).find((e) => (e.detail.serviceEventDetails as { accountId?: string }).accountId === id)!;
    expect(departed.detail.serviceEventDetails).toMatchObject({ departureMethod: 'CLEANED' });

    const outcome = await runStateMachine(sandbox(), departed);

    expect(outcome.report!.accounts).toMatchObject([
      {
        accountId: id,
        outcome: 'SUCCEEDED',
        connector: 'DEPARTED',
        steps: { depart: { reason: 'departed', details: { handoff: 'sent-at-offboarding' } } },
      },
    ]);
    expect(await ledger().get(id)).toMatchObject({ connector: 'DEPARTED', offboardedAt: expect.any(String) });
    expect(messages('connector.removal', id)).toEqual([]);
    expect(messages('connector.offboarding', id)).toHaveLength(1);
  });
});
