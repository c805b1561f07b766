import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ledger } from '../../commons/clients/dynamodb';
import type { RunReport } from '../../commons/run';
import { getRuntime } from '../../commons/runtime';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId, defaultFaultLabel } from '../../sandbox/scenario/default-scenario';
import { setLambdaEnvironment } from '../support/lambda-env';
import { runStateMachine } from '../support/local-run';
import { useSandbox } from '../support/sandbox';

const ACCOUNTS = 60;

/** Each account of the default organization's fate under an onboard run, by its fault. */
const EXPECTED: Record<
  string,
  { outcome: string; error?: string; step?: string; trail?: string; skip?: string }
> = {
  healthy: { outcome: 'SUCCEEDED', trail: 'created' },
  'foreign-user': { outcome: 'FAILED', error: 'ForeignUserConflict', step: 'user' },
  'invited-no-role': { outcome: 'FAILED', error: 'RoleMissing', step: 'access' },
  'two-keys': { outcome: 'SUCCEEDED', trail: 'created' },
  suspended: { outcome: 'SKIPPED', skip: 'suspended' },
  'five-policy-versions': { outcome: 'SUCCEEDED', trail: 'created' },
  closed: { outcome: 'SKIPPED', skip: 'closed' },
  'role-not-ready': { outcome: 'SUCCEEDED', trail: 'created' },
  'transient-iam-error': { outcome: 'SUCCEEDED', trail: 'created' },
  'scp-denies-trail': { outcome: 'FAILED', error: 'AccessDenied', step: 'trail' },
  throttled: { outcome: 'SUCCEEDED', trail: 'created' },
  'invited-with-role': { outcome: 'SUCCEEDED', trail: 'created' },
  'five-trails': { outcome: 'FAILED', error: 'LimitReached', step: 'trail' },
};

describe('the state machine run locally over a 60-account organization', () => {
  const sandbox = useSandbox({ accounts: ACCOUNTS });
  const byId = (report: RunReport) => new Map(report.accounts.map((a) => [a.accountId, a]));

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
  });

  it('onboards every account to the outcome its fault dictates, and fails the run with AccountsFailed', async () => {
    const outcome = await runStateMachine(sandbox(), { mode: 'onboard' });
    expect(outcome.execution).toMatchObject({ status: 'FAILED', error: 'AccountsFailed' });
    const accounts = byId(outcome.report!);
    for (let i = 1; i <= ACCOUNTS; i++) {
      const label = defaultFaultLabel(i);
      const expected = EXPECTED[label]!;
      const account = accounts.get(defaultAccountId(i));
      expect({
        i,
        label,
        outcome: account?.outcome,
        error: account?.error?.name,
        step: account?.error?.step,
        skip: account?.skipReason,
      }).toEqual({
        i,
        label,
        outcome: expected.outcome,
        error: expected.error,
        step: expected.step,
        skip: expected.skip,
      });
      if (expected.outcome === 'SUCCEEDED' && label === 'throttled') {
        // 30% of its IAM and CloudTrail calls are throttled: when a call's SDK retries run out,
        // the state machine's Retry runs the step again, and that attempt finds what the first
        // one made (its action `updated` or `unchanged`, the end state the same). Which steps that
        // happens to is chance, so only the end state is asserted here.
        expect(account?.connector).toBe('AWAITING_CONNECTION');
      } else if (expected.outcome === 'SUCCEEDED') {
        expect(account?.steps).toMatchObject({
          access: { action: 'unchanged' },
          // The two-keys account already has casbridge's user (without the boundary, which it
          // gets); the five-versions one its policy.
          user: { action: label === 'two-keys' ? 'updated' : 'created' },
          policy: { action: label === 'five-policy-versions' ? 'updated' : 'created' },
          accessKey: { action: 'created' },
          trail: { action: expected.trail },
          register: { action: 'created' },
        });
        expect(account?.connector).toBe('AWAITING_CONNECTION');
      }
    }
    expect(accounts.get(sandbox().stack.accountId)).toMatchObject({
      outcome: 'SKIPPED',
      skipReason: 'management-account',
    });
    expect(outcome.report!.summary.total).toBe(ACCOUNTS + 1);
  });

  it('reconciles with read calls only and reports every healthy account unchanged', async () => {
    const mark = sandbox().world.callLog.mark();
    const outcome = await runStateMachine(sandbox(), { mode: 'reconcile' });
    for (const account of outcome.report!.accounts) {
      if (account.outcome !== 'SUCCEEDED') continue;
      expect({ id: account.accountId, changed: account.changed }).toEqual({
        id: account.accountId,
        changed: false,
      });
    }
    const memberWrites = sandbox()
      .world.callLog.list({ sinceSeq: mark })
      .filter((c) => c.account !== sandbox().stack.accountId && !c.readOnly && c.outcome === 'ok');
    expect(memberWrites).toEqual([]);
  });

  it('retries only the failed accounts once their fault is fixed', async () => {
    // The operator renames the foreign user out of the way in account 3.
    const iam = sandbox().world.accounts.get(defaultAccountId(3))!.iam;
    iam.users.delete('cloudappsecurity');
    const outcome = await runStateMachine(sandbox(), { mode: 'retry-failed' });
    const worked = outcome.report!.accounts.filter((a) => a.outcome !== 'SKIPPED').map((a) => a.accountId);
    const failedBefore = [3, 7, 29, 37, 43, 47].map(defaultAccountId);
    expect(worked.sort()).toEqual(failedBefore.sort());
    expect(byId(outcome.report!).get(defaultAccountId(3))).toMatchObject({ outcome: 'SUCCEEDED' });
  });

  it('onboards only the account of a CreateAccountResult event', async () => {
    const id = defaultAccountId(5);
    const mark = sandbox().world.callLog.mark();
    const outcome = await runStateMachine(sandbox(), createAccountResult(id, 'SUCCEEDED'));
    expect(outcome.report!.accounts.filter((a) => a.outcome !== 'SKIPPED').map((a) => a.accountId)).toEqual([
      id,
    ]);
    const touched = new Set(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .map((c) => c.account),
    );
    touched.delete(sandbox().stack.accountId);
    expect([...touched]).toEqual([id]);
  });

  it('touches no account for a FAILED event, and refuses a foreign event without writing anything', async () => {
    const failed = await runStateMachine(sandbox(), createAccountResult(defaultAccountId(6), 'FAILED'));
    expect(failed.report!.accounts.filter((a) => a.outcome !== 'SKIPPED')).toEqual([]);
    const mark = sandbox().world.callLog.mark();
    const foreign = await runStateMachine(sandbox(), {
      ...createAccountResult(defaultAccountId(6), 'SUCCEEDED'),
      source: 'aws.ec2',
    });
    expect(foreign.startError).toMatchObject({ name: 'InvalidRunInput' });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .filter((c) => !c.readOnly),
    ).toEqual([]);
  });

  it('never lets two overlapping runs work on one account at once', async () => {
    const [a, b] = await Promise.all([
      runStateMachine(sandbox(), { mode: 'reconcile', accounts: [defaultAccountId(8), defaultAccountId(9)] }),
      runStateMachine(sandbox(), { mode: 'reconcile', accounts: [defaultAccountId(8), defaultAccountId(9)] }),
    ]);
    for (const id of [8, 9].map(defaultAccountId)) {
      // Compliant: each run's check needs no lease, so both may record the account one after the
      // other (the later write on the item the first left fails its condition, and that run's
      // pipeline claims it), or one finds the other holding it. Never both at once: the ledger
      // ends on one run's outcome, the lease free. test/state-machine/overlapping-reconciles.test.ts
      // has an account with something to change.
      const lines = [byId(a.report!).get(id), byId(b.report!).get(id)];
      for (const line of lines)
        expect(line).toMatchObject(
          line?.outcome === 'SKIPPED'
            ? { skipReason: 'lease-held-by-another-run' }
            : { outcome: 'SUCCEEDED', changed: false },
        );
      const item = await ledger(getRuntime()).get(id);
      const recorded = [a, b].filter((run) => byId(run.report!).get(id)?.outcome === 'SUCCEEDED');
      expect(recorded.map((run) => run.runId)).toContain(item?.lastRunId);
      expect(item?.leaseOwner ?? null).toBeNull();
    }
  });

  it('keeps secrets out of the execution history, the report files and the messages', async () => {
    const id = defaultAccountId(1);
    const secretValue = [
      ...sandbox().world.accounts.get(sandbox().stack.accountId)!.regions.values(),
    ].flatMap((r) =>
      [...r.secrets.values()].flatMap((s) => [...s.versions.values()].map((v) => v.secretString ?? '')),
    );
    const connectorSecrets = secretValue.flatMap((v) => {
      try {
        return [(JSON.parse(v) as { secretAccessKey: string }).secretAccessKey];
      } catch {
        return [];
      }
    });
    expect(connectorSecrets.length).toBeGreaterThan(30);
    // The connector of account 1 starts using its key, and a reconcile promotes it.
    const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
    const secret = JSON.parse(
      (
        await new SecretsManagerClient(sandbox().clientConfig()).send(
          new GetSecretValueCommand({ SecretId: `casbridge/connector/${id}` }),
        )
      ).SecretString!,
    ) as { accessKeyId: string; secretAccessKey: string };
    await new CloudTrailClient(sandbox().clientConfig(secret)).send(new DescribeTrailsCommand({}));
    const outcome = await runStateMachine(sandbox(), { mode: 'reconcile' });
    expect(byId(outcome.report!).get(id)?.connector).toBe('CONNECTED');
    const s3 = new S3Client(sandbox().clientConfig());
    const files = await Promise.all(
      ['report.json', 'report.csv', 'report.html'].map(async (name) => {
        const object = await s3.send(
          new GetObjectCommand({
            Bucket: sandbox().stack.reportsBucket,
            Key: `runs/${outcome.runId}/${name}`,
          }),
        );
        return object.Body!.transformToString();
      }),
    );
    const topic = regionalState(sandbox().world, sandbox().stack.accountId, sandbox().region).topics.get(
      sandbox().stack.topicArn,
    )!;
    const haystack =
      JSON.stringify(outcome.execution.events) + files.join('') + JSON.stringify(topic.messages);
    expect(connectorSecrets.filter((s) => haystack.includes(s))).toEqual([]);
    expect(haystack.includes(secret.secretAccessKey)).toBe(false);
  });
});

function createAccountResult(accountId: string, state: 'SUCCEEDED' | 'FAILED') {
  return {
    version: '0',
    id: `evt-${accountId}-${state}`,
    'detail-type': 'AWS Service Event via CloudTrail',
    source: 'aws.organizations',
    account: '999988887777',
    time: '2026-11-24T09:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      eventSource: 'organizations.amazonaws.com',
      eventName: 'CreateAccountResult',
      serviceEventDetails: {
        createAccountStatus: {
          id: 'car-0123456789abcdef',
          state,
          accountName: 'new-account',
          ...(state === 'SUCCEEDED' ? { accountId } : { failureReason: 'EMAIL_ALREADY_EXISTS' }),
          requestedTimestamp: 'Nov 24, 2026 9:00:00 AM',
          completedTimestamp: 'Nov 24, 2026 9:01:00 AM',
        },
      },
    },
  };
}
