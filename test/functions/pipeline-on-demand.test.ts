import { defaultAccountId } from '../../sandbox/scenario/default-scenario';
import { setLambdaEnvironment } from '../support/lambda-env';
import { accountInput, callsSince, loadPipeline, type PipelineRunner } from '../support/pipeline';
import { DEFAULT_KEY_DELIVERY, useSandbox } from '../support/sandbox';

/** pipeline.test.ts's pinned calls, for the default key delivery: no key until the operator asks. */
describe('the per-account pipeline with keys minted on demand (the default)', () => {
  const sandbox = useSandbox({ accounts: 1, stackParameters: { keyDelivery: DEFAULT_KEY_DELIVERY } });
  let pipeline: PipelineRunner;

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    pipeline = await loadPipeline(sandbox());
  });

  it('onboards a fresh account in 17 calls without a key or a secret, and reconciles it awaiting its key in 16', async () => {
    const id = defaultAccountId(1);
    const calls = (since: number) => callsSince(sandbox(), since);
    let mark = sandbox().world.callLog.mark();
    const onboard = await pipeline.run(accountInput(sandbox(), id, 'run-on-demand'));
    expect(onboard).toMatchObject({ outcome: 'SUCCEEDED', connector: 'AWAITING_CONNECTION' });
    expect(calls(mark)).toEqual([
      'dynamodb:UpdateItem (write)',
      'sts:AssumeRole',
      'sts:AssumeRole', // user
      'iam:CreateUser (write)',
      'sts:AssumeRole', // policy
      'iam:CreatePolicy (write)',
      'iam:AttachGroupPolicy (write)',
      'iam:AddUserToGroup (write)',
      // accessKey: a user created just now has no key, and none is minted until the operator asks:
      // no call, so no member session
      'sts:AssumeRole', // trail
      'cloudtrail:DescribeTrails',
      'cloudtrail:CreateTrail (write)',
      'cloudtrail:StartLogging (write)',
      'sns:Publish (write)', // register: the key-due hand-off, once
      'sts:AssumeRole', // verify
      'iam:SimulatePrincipalPolicy', // nothing high-risk allowed; no key to prove
      'dynamodb:UpdateItem (write)',
    ]);

    mark = sandbox().world.callLog.mark();
    const reconcile = await pipeline.run(
      accountInput(sandbox(), id, 'run-on-demand-2', { mode: 'reconcile' }),
    );
    expect(reconcile).toMatchObject({
      outcome: 'SUCCEEDED',
      changed: false,
      connector: 'AWAITING_CONNECTION',
    });
    expect(calls(mark)).toEqual([
      'dynamodb:UpdateItem (write)',
      'iam:GetUser',
      'iam:ListAttachedUserPolicies',
      'iam:ListUserPolicies',
      'iam:ListGroupsForUser',
      'iam:GetLoginProfile (NoSuchEntity)',
      'iam:GetPolicy',
      'iam:ListAttachedGroupPolicies',
      'iam:ListGroupPolicies',
      'iam:GetGroup',
      // The access key function's first member session: onboarding took none (a warm container
      // still holds the others'; a new day's run, through CheckAccount, takes one in all).
      'sts:AssumeRole',
      'iam:ListAccessKeys', // none: still due, told already; no secret to read
      'cloudtrail:DescribeTrails',
      'cloudtrail:GetTrailStatus',
      'iam:SimulatePrincipalPolicy',
      'dynamodb:UpdateItem (write)',
    ]);
  });
});
