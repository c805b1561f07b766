import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ledger } from '../../commons/clients/dynamodb';
import type { LedgerItem } from '../../commons/ledger';
import type { ReportAccount, RunReport } from '../../commons/run';
import { getRuntime } from '../../commons/runtime';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import type { LocalRunOutcome } from '../../statemachine/local/execute-run';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

/**
 * One execution per account at a time, whatever the delivery (DESIGN §6 "exactly once"): the
 * real definition under aws-local-stepfunctions against the sandbox, the executions started as
 * EventBridge and the schedule would start them.
 */
describe('one execution per account at a time', () => {
  const sandbox = useSandbox({ accounts: 8 });

  beforeAll(() => setLambdaEnvironment(sandbox()));

  /** The hand-offs the operator received for the account (SNS keeps every message published). */
  const handoffs = (accountId: string) =>
    (
      regionalState(sandbox().world, sandbox().stack.accountId, sandbox().region).topics.get(
        sandbox().stack.topicArn,
      )?.messages ?? []
    )
      .map((m) => JSON.parse(m.message) as { type?: string; accountId?: string })
      .filter((m) => m.type?.startsWith('connector.') && m.accountId === accountId);

  const line = (outcome: LocalRunOutcome, accountId: string): ReportAccount | undefined =>
    outcome.report?.accounts.find((a) => a.accountId === accountId);

  const item = async (accountId: string): Promise<LedgerItem | undefined> =>
    ledger(getRuntime()).get(accountId);

  async function reportFile(runId: string): Promise<RunReport> {
    const s3 = new S3Client(sandbox().clientConfig());
    const out = await s3.send(
      new GetObjectCommand({ Bucket: sandbox().stack.reportsBucket, Key: `runs/${runId}/report.json` }),
    );
    return JSON.parse(await out.Body!.transformToString()) as RunReport;
  }

  const createAccountResult = (eventId: string, accountId: string) => ({
    version: '0',
    id: eventId,
    'detail-type': 'AWS Service Event via CloudTrail',
    source: 'aws.organizations',
    account: sandbox().stack.accountId,
    time: '2026-11-24T09:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      eventSource: 'organizations.amazonaws.com',
      eventName: 'CreateAccountResult',
      serviceEventDetails: {
        createAccountStatus: {
          id: 'car-0123456789abcdef',
          state: 'SUCCEEDED',
          accountName: 'new-account',
          accountId,
          requestedTimestamp: 'Nov 24, 2026 9:00:00 AM',
          completedTimestamp: 'Nov 24, 2026 9:01:00 AM',
        },
      },
    },
  });

  describe('an event delivered twice', () => {
    const account = defaultAccountId(1);
    const event = () => createAccountResult('8d1f7c3e-twice', account);
    let first: LocalRunOutcome;

    it('starts one piece of work for two deliveries at once; the other names the run that does it', async () => {
      const [a, b] = await Promise.all([
        runStateMachine(sandbox(), event()),
        runStateMachine(sandbox(), event()),
      ]);
      expect(a.runId).not.toBe(b.runId);
      const worked = [a, b].filter((o) => line(o, account)?.outcome !== 'SKIPPED');
      expect(worked).toHaveLength(1);
      first = worked[0]!;
      const duplicate = first === a ? b : a;
      expect(line(first, account)).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
      expect(line(duplicate, account)).toMatchObject({
        outcome: 'SKIPPED',
        skipReason: 'duplicate-event',
        handledByRunId: first.runId,
        steps: {},
      });
      expect(duplicate.report?.trigger).toMatchObject({ type: 'organizations-event', eventId: event().id });
      expect(duplicate.execution.status).toBe('SUCCEEDED');
      expect(handoffs(account)).toHaveLength(1);
      // Each execution wrote its own report; neither overwrote the other's.
      expect((await reportFile(first.runId!)).accounts.map((x) => x.outcome)).toContain('SUCCEEDED');
      expect(
        (await reportFile(duplicate.runId!)).accounts.find((x) => x.accountId === account),
      ).toMatchObject({
        skipReason: 'duplicate-event',
      });
      expect(await item(account)).toMatchObject({ lastRunId: first.runId, leaseOwner: null });
    });

    it('recognises the same event delivered again an hour later, and touches nothing', async () => {
      sandbox().world.clock.advance(3_600_000);
      const mark = sandbox().world.callLog.mark();
      const later = await runStateMachine(sandbox(), event());
      expect(later.runId).not.toBe(first.runId);
      expect(line(later, account)).toMatchObject({
        outcome: 'SKIPPED',
        skipReason: 'duplicate-event',
        handledByRunId: first.runId,
      });
      expect(handoffs(account)).toHaveLength(1);
      const calls = sandbox().world.callLog.list({ sinceSeq: mark });
      expect(calls.filter((c) => c.account === account)).toEqual([]);
      expect(await item(account)).toMatchObject({ lastRunId: first.runId });
    });
  });

  it('stops a run whose lease lapsed mid-pipeline and was taken, and lets the taker finish', async () => {
    const account = defaultAccountId(2);
    let taker: LocalRunOutcome | undefined;
    let afterTaker: LedgerItem | undefined;
    let released = 0;
    // The first run is paused at its first call of the trail step; meanwhile its lease lapses
    // (the sandbox's clock moves past the 900 s lease) and a scheduled reconcile takes the
    // account, works it to the end and hands it off.
    sandbox().world.faults.hold(account, {
      service: 'cloudtrail',
      operation: 'DescribeTrails',
      remaining: 1,
      hold: async () => {
        sandbox().world.clock.advance(901_000);
        taker = await runStateMachine(sandbox(), {
          mode: 'reconcile',
          trigger: 'schedule',
          accounts: [account],
        });
        afterTaker = await item(account);
        released = sandbox().world.callLog.mark();
      },
    });
    const stalled = await runStateMachine(sandbox(), { mode: 'onboard', accounts: [account] });

    expect(line(taker!, account)).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
    expect(stalled.execution).toMatchObject({ status: 'FAILED', error: 'AccountsFailed' });
    const lost = line(stalled, account);
    expect(lost).toMatchObject({
      outcome: 'FAILED',
      error: { name: 'LeaseLost', step: 'register' },
      handledByRunId: taker!.runId,
    });
    // It stopped before the hand-off: the operator was asked once, by the run that owns the account.
    expect(Object.keys(lost!.steps)).toEqual(['access', 'user', 'policy', 'accessKey', 'trail']);
    expect(handoffs(account)).toHaveLength(1);
    // After it resumed it changed nothing: no write in the account by its session, and the
    // ledger as the taker left it.
    const resumedWrites = sandbox()
      .world.callLog.list({ sinceSeq: released })
      .filter((c) => c.account === account && !c.readOnly && c.callerArn?.includes(stalled.runId!));
    expect(resumedWrites).toEqual([]);
    expect(await item(account)).toEqual(afterTaker);
    expect(afterTaker).toMatchObject({ lastRunId: taker!.runId, lastOutcome: 'SUCCEEDED', leaseOwner: null });
    // Both runs' reports stand side by side.
    expect((await reportFile(stalled.runId!)).runId).toBe(stalled.runId);
    expect((await reportFile(taker!.runId!)).runId).toBe(taker!.runId);
  });

  it('keeps the account through a pipeline slower than its lease, renewing it once per slow step', async () => {
    const account = defaultAccountId(4);
    const management = sandbox().world.faults.forAccount(sandbox().stack.accountId);
    // Every AssumeRole (one per step that reaches the account) and every SNS publish (the hand-off)
    // takes 500 s of the sandbox's clock: each step starts with less than a step's budget left.
    management.clockLatencyMs = { sts: 500_000, sns: 500_000 };
    const mark = sandbox().world.callLog.mark();
    let outcome: LocalRunOutcome;
    try {
      outcome = await runStateMachine(sandbox(), { mode: 'onboard', accounts: [account] });
    } finally {
      delete management.clockLatencyMs;
    }
    expect(line(outcome, account)).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
    const ledgerWrites = sandbox()
      .world.callLog.list({ sinceSeq: mark, service: 'dynamodb' })
      .filter((c) => c.operation === 'UpdateItem' && c.outcome === 'ok')
      .map((c) => /:assumed-role\/casbridge-dev-(\w+)\//.exec(c.callerArn ?? '')?.[1]);
    // Access claims, each later step renews once, RecordResult records and releases.
    expect(ledgerWrites).toEqual([
      'access',
      'user',
      'policy',
      'accessKey',
      'trail',
      'register',
      'verify',
      'recordResult',
    ]);
    expect(await item(account)).toMatchObject({ lastRunId: outcome.runId, leaseOwner: null });
    expect(handoffs(account)).toHaveLength(1);
  });

  it('spends no ledger call on the lease in a normal run beyond the claim and the record', async () => {
    const account = defaultAccountId(5);
    const mark = sandbox().world.callLog.mark();
    await runStateMachine(sandbox(), { mode: 'onboard', accounts: [account] });
    const ledgerCalls = sandbox()
      .world.callLog.list({ sinceSeq: mark, service: 'dynamodb' })
      .filter((c) => c.operation !== 'Scan')
      .map((c) => `${/:assumed-role\/casbridge-dev-(\w+)\//.exec(c.callerArn ?? '')?.[1]} ${c.operation}`);
    expect(ledgerCalls).toEqual(['access UpdateItem', 'recordResult UpdateItem']);
  });
});
