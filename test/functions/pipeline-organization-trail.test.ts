import {
  CloudTrailClient,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import type { ReportAccount } from '../../commons/run';
import { resetRuntime } from '../../commons/runtime';
import { lambdaFunctionName, SANDBOX_STAGE } from '../../commons/stack-resources';
import { handler as accessHandler } from '../../functions/access/handler';
import { ensureTrail } from '../../functions/trail/ensure-trail';
import { handler as trailHandler } from '../../functions/trail/handler';
import { findRunCoverage } from '../../functions/trail/trail-coverage';
import { defaultAccountId, defaultScenario } from '../../sandbox/scenario/default-scenario';
import { lambdaContext } from '../support/lambda-context';
import { setLambdaEnvironment } from '../support/lambda-env';
import { memberAccountClients } from '../support/member';
import { callsSince, loadPipeline, type PipelineRunner } from '../support/pipeline';
import { sandboxConfig } from '../support/product';
import { resolvedItems } from '../support/resolve-input';
import { useSandbox } from '../support/sandbox';

const MANAGEMENT = '999988887777';
const ORGANIZATION_TRAIL = `arn:aws:cloudtrail:us-east-1:${MANAGEMENT}:trail/aws-controltower-BaselineCloudTrail`;
const RUN_COVERED = {
  action: 'skipped',
  reason: 'covered-by-organization-trail',
  details: { coveredBy: ORGANIZATION_TRAIL, coveredByLogFileValidation: true, coverageCheckedFor: 'run' },
};

/**
 * Issue 14 §4: an organization trail covers every account of the organization, so ResolveTargets
 * proves it once for the run and no account's trail step reads CloudTrail (or takes a member
 * session for it). keyDelivery at-handoff, the suite's (test/support/sandbox.ts), as pipeline.test.ts.
 */
describe('an organization trail proven once per run', () => {
  const sandbox = useSandbox({ scenario: defaultScenario({ accounts: 2, organizationTrail: true }) });
  let pipeline: PipelineRunner;
  const management = () => new CloudTrailClient(sandbox().clientConfig());

  beforeAll(async () => {
    await setLambdaEnvironment(sandbox());
    pipeline = await loadPipeline(sandbox());
  });

  const resolve = (input: Record<string, unknown>) => resolvedItems(sandbox(), input);

  const memberCloudTrailCalls = (mark: number) =>
    sandbox()
      .world.callLog.list({ sinceSeq: mark, service: 'cloudtrail' })
      .filter((c) => c.account !== MANAGEMENT);

  it('looks for the organization trail once, in the central account, and every item carries it', async () => {
    const mark = sandbox().world.callLog.mark();
    const items = await resolve({ mode: 'onboard' });
    expect(items.map((item) => item.trailCoverage)).toEqual([
      { trailArn: ORGANIZATION_TRAIL, organization: true, logFileValidation: true, excludedSources: [] },
      { trailArn: ORGANIZATION_TRAIL, organization: true, logFileValidation: true, excludedSources: [] },
    ]);
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark, service: 'cloudtrail' })
        .map((c) => `${c.account} ${c.operation}`),
    ).toEqual([`${MANAGEMENT} DescribeTrails`, `${MANAGEMENT} GetTrailStatus`]);
  });

  it('onboards an account without a CloudTrail call in it, the trail step saying the run proved the coverage', async () => {
    const [item] = await resolve({ mode: 'onboard', accounts: [defaultAccountId(1)] });
    const mark = sandbox().world.callLog.mark();
    const onboard = await pipeline.run(item!);
    expect(onboard).toMatchObject({ outcome: 'SUCCEEDED', steps: { trail: RUN_COVERED } });
    expect(memberCloudTrailCalls(mark)).toEqual([]);
  });

  it('reconciles a compliant account in an organization with an organization trail through CheckAccount in 14 calls, one ledger write', async () => {
    // Account 1, onboarded above. A new day: new Lambda containers, no member session left.
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
      steps: { trail: RUN_COVERED },
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
      'iam:ListAccessKeys',
      // no CloudTrail call: ResolveTargets proved the organization trail covers every account
      'iam:SimulatePrincipalPolicy',
      'iam:GetAccessKeyLastUsed',
      'dynamodb:UpdateItem (write)', // the outcome, conditional on the item ResolveTargets scanned
    ]);
  });

  it('reports the same covered result in a dry run, without a call to CloudTrail in the account', async () => {
    const [item] = await resolve({ mode: 'onboard', accounts: [defaultAccountId(2)], dryRun: true });
    expect(item?.trailCoverage?.trailArn).toBe(ORGANIZATION_TRAIL);
    const mark = sandbox().world.callLog.mark();
    const planned = await pipeline.run(item!);
    expect(planned).toMatchObject({ steps: { trail: RUN_COVERED } });
    expect(memberCloudTrailCalls(mark)).toEqual([]);
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .filter((c) => !c.readOnly && c.outcome === 'ok'),
    ).toEqual([]);
  });

  it('refuses an item whose trail coverage is malformed, by name, making no call', async () => {
    const [item] = await resolve({ mode: 'reconcile', accounts: [defaultAccountId(1)] });
    const mark = sandbox().world.callLog.mark();
    await expect(
      trailHandler(
        { ...item, trailCoverage: { trailArn: 'not-a-trail', organization: true } },
        lambdaContext(lambdaFunctionName(SANDBOX_STAGE, 'trail')),
      ),
    ).rejects.toMatchObject({ name: 'InvalidTaskInput', message: expect.stringContaining('trailCoverage') });
    // Only an organization trail covers every account of a run.
    await expect(
      trailHandler(
        { ...item, trailCoverage: { ...item!.trailCoverage, organization: false } },
        lambdaContext(lambdaFunctionName(SANDBOX_STAGE, 'trail')),
      ),
    ).rejects.toMatchObject({ name: 'InvalidTaskInput' });
    expect(callsSince(sandbox(), mark)).toEqual([]);
  });

  it('in trail mode own ignores the run’s coverage: the account’s own trail is checked, and ResolveTargets looks for none', async () => {
    const own = sandboxConfig(sandbox(), { CASBRIDGE_TRAIL_MODE: 'own' });
    const id = defaultAccountId(1);
    const { cloudtrail } = await memberAccountClients(sandbox(), own, id, 'trail');
    let mark = sandbox().world.callLog.mark();
    expect(await findRunCoverage(management(), own)).toBeUndefined();
    expect(callsSince(sandbox(), mark)).toEqual([]);
    mark = sandbox().world.callLog.mark();
    const result = await ensureTrail(cloudtrail, own, id, {
      dryRun: true,
      runCoverage: {
        trailArn: ORGANIZATION_TRAIL,
        organization: true,
        logFileValidation: true,
        excludedSources: [],
      },
    });
    expect(result).toMatchObject({ action: 'created', reason: 'dry-run' });
    expect(callsSince(sandbox(), mark)).toEqual(['cloudtrail:DescribeTrails']);
  });

  it('reads the organization trail’s selectors once for the run when they were customised, and still covers', async () => {
    await management().send(
      new PutEventSelectorsCommand({
        TrailName: ORGANIZATION_TRAIL,
        EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true }],
      }),
    );
    const mark = sandbox().world.callLog.mark();
    const items = await resolve({ mode: 'reconcile' });
    expect(items.every((item) => item.trailCoverage?.trailArn === ORGANIZATION_TRAIL)).toBe(true);
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark, service: 'cloudtrail' })
        .map((c) => `${c.account} ${c.operation}`),
    ).toEqual([
      `${MANAGEMENT} DescribeTrails`,
      `${MANAGEMENT} GetTrailStatus`,
      `${MANAGEMENT} GetEventSelectors`,
    ]);
  });

  it('lets each account check itself, as before, when the organization trail was stopped before the run', async () => {
    await management().send(new StopLoggingCommand({ Name: ORGANIZATION_TRAIL }));
    try {
      const [item] = await resolve({ mode: 'reconcile', accounts: [defaultAccountId(2)] });
      expect(item).not.toHaveProperty('trailCoverage');
      const mark = sandbox().world.callLog.mark();
      const reconciled = await pipeline.run(item!);
      expect(reconciled.steps.trail).toMatchObject({ action: 'created' });
      expect(memberCloudTrailCalls(mark).map((c) => c.operation)).toEqual([
        'DescribeTrails',
        'GetTrailStatus', // the organization trail, stopped: no coverage
        'CreateTrail',
        'StartLogging',
      ]);
    } finally {
      await management().send(new StartLoggingCommand({ Name: ORGANIZATION_TRAIL }));
    }
  });
});
