import { CloudTrailClient, DescribeTrailsCommand } from '@aws-sdk/client-cloudtrail';
import { GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ledger } from '../../commons/clients/dynamodb';
import { desiredStateHash } from '../../commons/desired-state';
import { snapshotOf } from '../../commons/ledger-view';
import type { ReportAccount } from '../../commons/run';
import { getRuntime, resetRuntime } from '../../commons/runtime';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import { handler as accessHandler } from '../../functions/access/handler';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId, defaultFaultLabel } from '../../sandbox/scenario/default-scenario';
import { lambdaContext } from '../support/lambda-context';
import { setLambdaEnvironment } from '../support/lambda-env';
import {
  accountInput,
  callsSince,
  loadPipeline,
  OFFBOARD_STEPS,
  type PipelineRunner,
} from '../support/pipeline';
import { assumeRole, useSandbox } from '../support/sandbox';

const ACTIVE = Array.from({ length: 40 }, (_, i) => i + 1).filter(
  (i) => !['suspended', 'closed'].includes(defaultFaultLabel(i)),
);

/** What each account of the default organization must end as, by its fault. */
const EXPECTED: Record<string, { outcome: string; error?: string; step?: string }> = {
  healthy: { outcome: 'SUCCEEDED' },
  'foreign-user': { outcome: 'FAILED', error: 'ForeignUserConflict', step: 'user' },
  'invited-no-role': { outcome: 'FAILED', error: 'RoleMissing', step: 'access' },
  'two-keys': { outcome: 'SUCCEEDED' },
  'five-policy-versions': { outcome: 'SUCCEEDED' },
  'role-not-ready': { outcome: 'SUCCEEDED' },
  'transient-iam-error': { outcome: 'SUCCEEDED' },
  'scp-denies-trail': { outcome: 'FAILED', error: 'AccessDenied', step: 'trail' },
  throttled: { outcome: 'SUCCEEDED' },
  'invited-with-role': { outcome: 'SUCCEEDED' },
  'five-trails': { outcome: 'FAILED', error: 'LimitReached', step: 'trail' },
};

describe('the per-account pipeline over the default organization', () => {
  // keyDelivery at-handoff (the suite's, test/support/sandbox.ts): the run mints the key and hands
  // it off with its secret. The default's counts are in pipeline-on-demand.test.ts
  // (configuration is read once per process).
  const sandbox = useSandbox({ accounts: 44 });
  let pipeline: PipelineRunner;

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    pipeline = await loadPipeline(sandbox());
  });

  it('ends every account as its fault dictates, one account never failing another', async () => {
    const results = await Promise.all(
      ACTIVE.map((i) => pipeline.run(accountInput(sandbox(), defaultAccountId(i), 'run-onboard'))),
    );
    for (const [n, result] of results.entries()) {
      const label = defaultFaultLabel(ACTIVE[n] as number);
      const expected = EXPECTED[label]!;
      expect({ label, outcome: result.outcome, error: result.error?.name, step: result.error?.step }).toEqual(
        {
          label,
          outcome: expected.outcome,
          error: expected.error,
          step: expected.step,
        },
      );
      if (result.error) expect(result.error.remediation.length).toBeGreaterThan(20);
      else expect(result.connector).toBe('AWAITING_CONNECTION');
    }
    // templates/member-role.yml allows every call the pipeline makes: the only refusals are the
    // SCP's (account 29) and the roles that do not exist or trust casbridge (AssumeRole).
    const denied = sandbox()
      .world.callLog.list({ outcome: 'error' })
      .filter(
        (c) => /AccessDenied|AuthorizationError/.test(c.errorCode ?? '') && c.operation !== 'AssumeRole',
      );
    expect([...new Set(denied.map((c) => `${c.account} ${c.operation}`))]).toEqual([
      `${defaultAccountId(29)} CreateTrail`,
    ]);
  });

  it('on a second pass changes nothing in a healthy account and makes read calls only', async () => {
    const healthy = ACTIVE.filter((i) => EXPECTED[defaultFaultLabel(i)]?.outcome === 'SUCCEEDED');
    const mark = sandbox().world.callLog.mark();
    const results = await Promise.all(
      healthy.map((i) =>
        pipeline.run(accountInput(sandbox(), defaultAccountId(i), 'run-reconcile', { mode: 'reconcile' })),
      ),
    );
    for (const result of results) {
      expect({ account: result.accountId, changed: result.changed, outcome: result.outcome }).toEqual({
        account: result.accountId,
        changed: false,
        outcome: 'SUCCEEDED',
      });
    }
    const memberWrites = sandbox()
      .world.callLog.list({ sinceSeq: mark })
      .filter((c) => c.account !== sandbox().stack.accountId && !c.readOnly && c.outcome === 'ok');
    expect(memberWrites).toEqual([]);
    // The key in service is the one the ledger recorded: the secret's metadata is not read again.
    expect(sandbox().world.callLog.list({ sinceSeq: mark, operation: 'DescribeSecret' })).toEqual([]);
  });

  it('lets only one of two overlapping runs work on an account', async () => {
    const id = defaultAccountId(40); // healthy, onboarded by the first test
    const [a, b] = await Promise.all([
      pipeline.run(accountInput(sandbox(), id, 'run-a')),
      pipeline.run(accountInput(sandbox(), id, 'run-b')),
    ]);
    expect([a.outcome, b.outcome].sort()).toEqual(['SKIPPED', 'SUCCEEDED']);
  });

  it('changes nothing anywhere in a dry run of a fresh account', async () => {
    // Account 41 is healthy and no earlier test has touched it.
    const id = defaultAccountId(41);
    const mark = sandbox().world.callLog.mark();
    const result = await pipeline.run(accountInput(sandbox(), id, 'run-dry', { dryRun: true }));
    expect(result.error).toBeUndefined();
    expect(result.steps.user).toMatchObject({ action: 'created', reason: 'dry-run' });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .filter((c) => !c.readOnly),
    ).toEqual([]);
  });

  it('onboards a fresh account in 21 calls and reconciles it in 16, the ledger included', async () => {
    // Account 42 is healthy and untouched by the other tests.
    const id = defaultAccountId(42);
    const calls = (since: number) => callsSince(sandbox(), since);
    let mark = sandbox().world.callLog.mark();
    const onboard = await pipeline.run(accountInput(sandbox(), id, 'run-fresh'));
    expect(onboard).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
    expect(calls(mark)).toEqual([
      'dynamodb:UpdateItem (write)', // access: the lease, returning the account's item as it was
      // Once per account by each function that reaches it, with its own role (as each Lambda
      // function is its own process); a warm function reuses its session for later steps.
      'sts:AssumeRole',
      'sts:AssumeRole', // user
      'iam:CreateUser (write)', // never onboarded: create first (under the boundary), read only if it exists
      'sts:AssumeRole', // policy
      'iam:CreatePolicy (write)',
      // Security Hub IAM.2: the policy goes on the StackSet's group, the user in it.
      'iam:AttachGroupPolicy (write)',
      'iam:AddUserToGroup (write)',
      'sts:AssumeRole', // accessKey
      'iam:CreateAccessKey (write)', // a user created just now has no keys, its secret is new
      'secretsmanager:CreateSecret (write)',
      'sts:AssumeRole', // trail
      'cloudtrail:DescribeTrails',
      'cloudtrail:CreateTrail (write)',
      'cloudtrail:StartLogging (write)',
      'sns:Publish (write)', // register: the hand-off, once (a webhook has its own state), recorded by RecordResult
      'sts:AssumeRole', // verify
      'iam:SimulatePrincipalPolicy', // verify: nothing high-risk allowed and, once per key, the connector's actions
      'secretsmanager:GetSecretValue',
      'sts:GetCallerIdentity', // with the connector's key, once
      'dynamodb:UpdateItem (write)', // RecordResult: outcome, hand-off, proof and lease in one write
    ]);

    // The ledger keeps the desired state the account was brought to (read as the operator).
    const runtime = getRuntime();
    expect(await ledger(runtime).get(id)).toMatchObject({
      desiredStateHash: desiredStateHash(runtime.config),
    });
    // Each function still holds its member-role session; the next day's run adds their AssumeRoles.
    mark = sandbox().world.callLog.mark();
    const reconcile = await pipeline.run(accountInput(sandbox(), id, 'run-fresh-2', { mode: 'reconcile' }));
    expect(reconcile).toMatchObject({ outcome: 'SUCCEEDED', changed: false });
    expect(calls(mark)).toEqual([
      'dynamodb:UpdateItem (write)',
      'iam:GetUser', // ours, and under the boundary
      // The tamper check: nothing on the user but what casbridge gave it.
      'iam:ListAttachedUserPolicies',
      'iam:ListUserPolicies',
      'iam:ListGroupsForUser', // also: the user is in the connector group
      'iam:GetLoginProfile (NoSuchEntity)', // no console password
      'iam:GetPolicy', // the default version is the one proven: not read again
      'iam:ListAttachedGroupPolicies', // the connector policy on the group, and nothing else
      'iam:ListGroupPolicies',
      'iam:GetGroup', // no member but the connector user
      'iam:ListAccessKeys', // the one key, the one the ledger recorded with its secret
      'cloudtrail:DescribeTrails',
      'cloudtrail:GetTrailStatus',
      'iam:SimulatePrincipalPolicy', // every run: nothing high-risk allowed
      'iam:GetAccessKeyLastUsed', // has the connector used the key yet?
      'dynamodb:UpdateItem (write)',
    ]);
  });

  it('connects an account in 17 calls, deleting its secret once, and reconciles it connected in 16', async () => {
    // Account 38 is healthy, onboarded and reconciled by the first tests.
    const id = defaultAccountId(38);
    const calls = (since: number) => callsSince(sandbox(), since);
    const key = JSON.parse(
      (
        await new SecretsManagerClient(sandbox().clientConfig()).send(
          new GetSecretValueCommand({ SecretId: `casbridge/connector/${id}` }),
        )
      ).SecretString!,
    ) as { accessKeyId: string; secretAccessKey: string };
    await new CloudTrailClient(sandbox().clientConfig(key)).send(new DescribeTrailsCommand({}));
    const reads = [
      'iam:GetUser',
      'iam:ListAttachedUserPolicies',
      'iam:ListUserPolicies',
      'iam:ListGroupsForUser',
      'iam:GetLoginProfile (NoSuchEntity)',
      'iam:GetPolicy',
      'iam:ListAttachedGroupPolicies',
      'iam:ListGroupPolicies',
      'iam:GetGroup',
      'iam:ListAccessKeys',
    ];

    let mark = sandbox().world.callLog.mark();
    const connecting = await pipeline.run(accountInput(sandbox(), id, 'run-connect', { mode: 'reconcile' }));
    expect(connecting).toMatchObject({ outcome: 'SUCCEEDED', connector: 'CONNECTED' });
    // The awaiting account's 16, and once: the secret's deletion (Issue 12 §5).
    expect(calls(mark)).toEqual([
      'dynamodb:UpdateItem (write)',
      ...reads,
      'cloudtrail:DescribeTrails',
      'cloudtrail:GetTrailStatus',
      'iam:SimulatePrincipalPolicy',
      'iam:GetAccessKeyLastUsed', // verify: the connector used the key after the hand-off
      'secretsmanager:DeleteSecret (write)', // the portal holds the key now: its secret goes
      'dynamodb:UpdateItem (write)',
    ]);

    mark = sandbox().world.callLog.mark();
    const connected = await pipeline.run(accountInput(sandbox(), id, 'run-connected', { mode: 'reconcile' }));
    expect(connected).toMatchObject({ outcome: 'SUCCEEDED', changed: false, connector: 'CONNECTED' });
    // Fifteen before issue 12 §4; the one call added checks the connector still uses its key,
    // in the access key step so register can tell the operator in the same run. No secret is
    // read or described: the ledger names the key in service.
    expect(calls(mark)).toEqual([
      'dynamodb:UpdateItem (write)',
      ...reads,
      'iam:GetAccessKeyLastUsed', // accessKey: does the connector still use the key?
      'cloudtrail:DescribeTrails',
      'cloudtrail:GetTrailStatus',
      'iam:SimulatePrincipalPolicy', // verify decides CONNECTED from the access key step's look
      'dynamodb:UpdateItem (write)',
    ]);
  });

  it('records a hand-off made before a later step failed, so the next run does not hand off again', async () => {
    const id = defaultAccountId(44); // healthy, untouched by the other tests
    const { accountId, region, topicArn } = sandbox().stack;
    const handoffs = () =>
      (regionalState(sandbox().world, accountId, region).topics.get(topicArn)?.messages ?? []).filter(
        (m) => JSON.parse(m.message).accountId === id,
      );
    // Verify cannot read the connector's key once: the account fails after its hand-off.
    sandbox().world.faults.inject(accountId, {
      service: 'secretsmanager',
      operation: 'GetSecretValue',
      code: 'AccessDeniedException',
      remaining: 1,
    });
    const failed = await pipeline.run(accountInput(sandbox(), id, 'run-handoff-1'));
    expect(failed).toMatchObject({ outcome: 'FAILED', error: { step: 'verify' } });
    expect(failed.steps.register).toEqual({
      action: 'created',
      reason: 'handoff-sent',
      details: expect.objectContaining({ connector: 'AWAITING_CONNECTION' }),
    });
    expect(handoffs()).toHaveLength(1);

    const again = await pipeline.run(accountInput(sandbox(), id, 'run-handoff-2', { mode: 'retry-failed' }));
    expect(again).toMatchObject({
      outcome: 'SUCCEEDED',
      steps: { register: { action: 'unchanged', reason: 'awaiting-connection' } },
    });
    expect(handoffs()).toHaveLength(1);
  });

  it('offboards an onboarded account: user, policy and keys gone, connector RETIRED, record kept', async () => {
    const id = defaultAccountId(39);
    const offboard = await loadPipeline(sandbox(), OFFBOARD_STEPS);
    const result = await offboard.run(accountInput(sandbox(), id, 'run-offboard', { mode: 'offboard' }));
    expect(result).toMatchObject({
      outcome: 'SUCCEEDED',
      changed: true,
      connector: 'RETIRED',
      steps: { offboard: { action: 'updated' } },
    });
    const admin = new IAMClient(
      sandbox().clientConfig(
        await assumeRole(sandbox(), `arn:aws:iam::${id}:role/OrganizationAccountAccessRole`),
      ),
    );
    await expect(admin.send(new GetUserCommand({ UserName: 'CloudAppSecurity' }))).rejects.toMatchObject({
      name: 'NoSuchEntityException',
    });
    const again = await offboard.run(accountInput(sandbox(), id, 'run-offboard-2', { mode: 'offboard' }));
    expect(again).toMatchObject({
      outcome: 'SUCCEEDED',
      changed: false,
      steps: { offboard: { action: 'unchanged', reason: 'already-offboarded' } },
    });
  });

  it('reconciles a compliant account on a new day through CheckAccount in 16 calls, one AssumeRole and one ledger write', async () => {
    // Account 42, onboarded and reconciled by an earlier test; last, as the other tests' pins
    // count on warm functions. A new day: new Lambda containers,
    // no member-role session left, as the daily run meets every account (deployed, the state
    // machine starts each reconcile item at CheckAccount, in the access function).
    const id = defaultAccountId(42);
    sandbox().world.clock.advance(86_400_000);
    resetRuntime();
    // The account's item as ResolveTargets' scan hands it to a reconcile item.
    const seen = snapshotOf(await ledger(getRuntime()).get(id));
    const mark = sandbox().world.callLog.mark();
    const checked = (await accessHandler(
      { check: { ...accountInput(sandbox(), id, 'run-fresh-3', { mode: 'reconcile' }), seen } },
      lambdaContext(lambdaFunctionName(SANDBOX_STAGE, 'access')),
    )) as ReportAccount;
    expect(checked).toMatchObject({ outcome: 'SUCCEEDED', changed: false, connector: 'AWAITING_CONNECTION' });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .map(
          (c) =>
            `${c.service}:${c.operation}${c.readOnly ? '' : ' (write)'}${c.outcome === 'ok' ? '' : ` (${c.errorCode})`}`,
        ),
    ).toEqual([
      'sts:AssumeRole', // the one session every step's reads go through
      'iam:GetUser', // ours, under the boundary
      'iam:ListAttachedUserPolicies', // the tamper check: nothing on the user but the group
      'iam:ListUserPolicies',
      'iam:ListGroupsForUser',
      'iam:GetLoginProfile (NoSuchEntity)', // no console password
      'iam:GetPolicy', // the default version the ledger recorded as proven
      'iam:ListAttachedGroupPolicies', // the connector policy on the group, nothing else
      'iam:ListGroupPolicies', // the StackSet's ceiling, nothing else
      'iam:GetGroup', // no member but the connector user
      'iam:ListAccessKeys', // the one key, the one the ledger recorded with its secret
      'cloudtrail:DescribeTrails', // the trail as configured (and any organization trail)
      'cloudtrail:GetTrailStatus', // and logging
      'iam:SimulatePrincipalPolicy', // nothing high-risk allowed, whatever no listing shows
      'iam:GetAccessKeyLastUsed', // has the connector used the key yet?
      'dynamodb:UpdateItem (write)', // the outcome, on the item as scanned and no lease held
    ]);
  });
});
