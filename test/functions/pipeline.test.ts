import { GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { defaultAccountId, defaultFaultLabel } from '../../sandbox/scenario/default-scenario';
import { setLambdaEnvironment } from '../support/lambda-env';
import { accountInput, loadPipeline, OFFBOARD_STEPS, type PipelineRunner } from '../support/pipeline';
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
  const sandbox = useSandbox({ accounts: 41 });
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
    // The access key step reads the secret's metadata once; register takes it from that result.
    const describes = sandbox().world.callLog.list({ sinceSeq: mark, operation: 'DescribeSecret' });
    expect(describes).toHaveLength(healthy.length);
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

  it('offboards an onboarded account: user, policy and keys gone, connector OFFBOARDED, record kept', async () => {
    const id = defaultAccountId(39);
    const offboard = await loadPipeline(sandbox(), OFFBOARD_STEPS);
    const result = await offboard.run(accountInput(sandbox(), id, 'run-offboard', { mode: 'offboard' }));
    expect(result).toMatchObject({
      outcome: 'SUCCEEDED',
      changed: true,
      connector: 'OFFBOARDED',
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
});
