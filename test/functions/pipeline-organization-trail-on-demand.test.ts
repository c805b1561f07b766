import type { ReportAccount } from '../../commons/run';
import { resetRuntime } from '../../commons/runtime';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import { handler as accessHandler } from '../../functions/access/handler';
import { defaultAccountId, defaultScenario } from '../../sandbox/scenario/default-scenario';
import { lambdaContext } from '../support/lambda-context';
import { setLambdaEnvironment } from '../support/lambda-env';
import { callsSince, loadPipeline, type PipelineRunner } from '../support/pipeline';
import { resolvedItems } from '../support/resolve-input';
import { DEFAULT_KEY_DELIVERY, useSandbox } from '../support/sandbox';

/** pipeline-on-demand.test.ts's onboarding, in an organization whose organization trail covers every account. */
describe('onboarding with keys minted on demand in an organization with an organization trail', () => {
  const sandbox = useSandbox({
    scenario: defaultScenario({ accounts: 1, organizationTrail: true }),
    stackParameters: { keyDelivery: DEFAULT_KEY_DELIVERY },
  });
  let pipeline: PipelineRunner;

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    pipeline = await loadPipeline(sandbox());
  });

  const resolve = (input: Record<string, unknown>) => resolvedItems(sandbox(), input);

  it('onboards a fresh account in 12 calls, none to CloudTrail in it, neither the trail nor the access key function taking a member session', async () => {
    const [item] = await resolve({ mode: 'onboard', accounts: [defaultAccountId(1)] });
    const mark = sandbox().world.callLog.mark();
    const onboard = await pipeline.run(item!);
    expect(onboard).toMatchObject({
      outcome: 'SUCCEEDED',
      connector: 'AWAITING_CONNECTION',
      steps: { trail: { action: 'skipped', reason: 'covered-by-organization-trail' } },
    });
    const assumedBy = sandbox()
      .world.callLog.list({ sinceSeq: mark, operation: 'AssumeRole' })
      .map((c) => c.callerArn?.split('/')[1]);
    // The functions that take a member session, each as its own role: not the trail's, nor the
    // access key's (a user created in this run has no key to read).
    expect(assumedBy).toEqual(
      ['access', 'user', 'policy', 'verify'].map((key) => lambdaFunctionName(SANDBOX_STAGE, key)),
    );
    expect(callsSince(sandbox(), mark)).toEqual([
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
      // trail: covered by the organization trail, proven once for the run by ResolveTargets
      'sns:Publish (write)', // register: the key-due hand-off, once
      'sts:AssumeRole', // verify
      'iam:SimulatePrincipalPolicy', // nothing high-risk allowed; no key to prove
      'dynamodb:UpdateItem (write)',
    ]);
  });

  it('reconciles the account awaiting its key on a new day through CheckAccount in 13 calls, none to CloudTrail', async () => {
    // The account onboarded above; new Lambda containers, no member session left.
    const [item] = await resolve({ mode: 'reconcile', accounts: [defaultAccountId(1)] });
    sandbox().world.clock.advance(86_400_000);
    resetRuntime();
    const mark = sandbox().world.callLog.mark();
    const checked = (await accessHandler(
      { check: item },
      lambdaContext(lambdaFunctionName(SANDBOX_STAGE, 'access')),
    )) as ReportAccount;
    expect(checked).toMatchObject({
      outcome: 'SUCCEEDED',
      changed: false,
      connector: 'AWAITING_CONNECTION',
      steps: { trail: { reason: 'covered-by-organization-trail', details: { coverageCheckedFor: 'run' } } },
    });
    expect(callsSince(sandbox(), mark)).toEqual([
      'sts:AssumeRole', // the one session every step's reads go through
      'iam:GetUser',
      'iam:ListAttachedUserPolicies',
      'iam:ListUserPolicies',
      'iam:ListGroupsForUser',
      'iam:GetLoginProfile (NoSuchEntity)',
      'iam:GetPolicy',
      'iam:ListAttachedGroupPolicies',
      'iam:ListGroupPolicies',
      'iam:GetGroup',
      'iam:ListAccessKeys', // none: still due, told already
      // no CloudTrail call: ResolveTargets proved the organization trail covers every account
      'iam:SimulatePrincipalPolicy',
      'dynamodb:UpdateItem (write)',
    ]);
  });
});
