import {
  CloudTrailClient,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { clientConfig } from '../../commons/aws-clients';
import { centralAccountId } from '../../commons/clients/central-account';
import type { Config } from '../../commons/config';
import { createRuntime } from '../../commons/runtime';
import {
  ensureOrganizationTrail,
  type OrganizationTrailInput,
} from '../../functions/organization-trail/ensure-organization-trail';
import { ensureTrail } from '../../functions/trail/ensure-trail';
import type { Sandbox } from '../../sandbox';
import { defaultAccountId, defaultScenario } from '../../sandbox/scenario/default-scenario';
import { memberAccountClients } from '../support/member';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { useSandbox } from '../support/sandbox';

const ORGANIZATION_MODE = { trailMode: 'organization' };
const TRUSTED = { trustedServices: ['cloudtrail.amazonaws.com'] };
const run = (dryRun = false, mode: OrganizationTrailInput['mode'] = 'onboard'): OrganizationTrailInput => ({
  runId: `${mode}-test`,
  mode,
  dryRun,
});

/** The organization trail task as the state machine runs it: as its own function's role. */
async function task(sandbox: Sandbox, config: Config) {
  const settings = await functionRoleSettings(sandbox, 'organizationTrail');
  const runtime = createRuntime(config, settings);
  const deps = {
    cloudtrail: new CloudTrailClient(clientConfig(settings)),
    organizations: new OrganizationsClient(clientConfig(settings)),
    centralAccountId: centralAccountId(runtime),
    config,
  };
  return (input: OrganizationTrailInput) => ensureOrganizationTrail(deps, input);
}

/** The trail step in the i-th member account, as its function's role through the member role. */
async function accountStep(sandbox: Sandbox, config: Config, index: number) {
  const accountId = defaultAccountId(index);
  const { cloudtrail } = await memberAccountClients(sandbox, config, accountId, 'trail');
  const runtime = createRuntime(config, await functionRoleSettings(sandbox, 'trail'));
  return (dryRun = false) =>
    ensureTrail(cloudtrail, config, accountId, { dryRun, centralAccountId: centralAccountId(runtime) });
}

const writes = (sandbox: Sandbox, mark: number) =>
  sandbox.world.callLog.list({ sinceSeq: mark }).filter((c) => !c.readOnly && c.outcome === 'ok');

describe('the organization trail in trail mode organization', () => {
  const sandbox = useSandbox({
    scenario: { ...defaultScenario({ accounts: 6 }), organization: TRUSTED },
    stackParameters: ORGANIZATION_MODE,
  });
  const config = () => sandboxConfig(sandbox());
  const trailArn = () =>
    `arn:aws:cloudtrail:us-east-1:${sandbox().stack.accountId}:trail/casbridge-organization`;
  const management = () => new CloudTrailClient(sandbox().clientConfig());

  it('plans the organization trail, and each account’s coverage by it, in a dry run, changing nothing', async () => {
    const mark = sandbox().world.callLog.mark();
    expect(await (await task(sandbox(), config()))(run(true))).toEqual({
      action: 'created',
      reason: 'dry-run',
      details: { trailArn: trailArn() },
    });
    expect(await (await accountStep(sandbox(), config(), 1))(true)).toEqual({
      action: 'skipped',
      reason: 'covered-by-organization-trail',
      details: { coveredBy: trailArn(), coveredByLogFileValidation: true },
    });
    expect(writes(sandbox(), mark)).toEqual([]);
  });

  it('creates one logging organization trail from the management account, then only reads', async () => {
    const ensure = await task(sandbox(), config());
    const mark = sandbox().world.callLog.mark();
    expect(await ensure(run())).toEqual({ action: 'created', details: { trailArn: trailArn() } });
    expect(writes(sandbox(), mark).map((c) => [c.account, c.operation])).toEqual([
      [sandbox().stack.accountId, 'CreateTrail'],
      [sandbox().stack.accountId, 'StartLogging'],
    ]);
    const trail = (
      await management().send(new DescribeTrailsCommand({ trailNameList: ['casbridge-organization'] }))
    ).trailList?.[0];
    expect(trail).toMatchObject({
      TrailARN: trailArn(),
      IsOrganizationTrail: true,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      LogFileValidationEnabled: true,
      S3BucketName: sandbox().stack.logBucket,
      // Member files land under casbridge/AWSLogs/<org-id>/<account>/, apart from per-account trails.
      S3KeyPrefix: 'casbridge',
    });
    expect(
      (await management().send(new GetTrailStatusCommand({ Name: 'casbridge-organization' }))).IsLogging,
    ).toBe(true);

    const again = sandbox().world.callLog.mark();
    expect(await ensure(run())).toEqual({ action: 'unchanged', details: { trailArn: trailArn() } });
    expect(writes(sandbox(), again)).toEqual([]);
  });

  it('covers every member account: each account’s trail step is skipped naming it, and makes no trail', async () => {
    const mark = sandbox().world.callLog.mark();
    for (const index of [1, 2, 4]) {
      expect(await (await accountStep(sandbox(), config(), index))()).toEqual({
        action: 'skipped',
        reason: 'covered-by-organization-trail',
        details: { coveredBy: trailArn(), coveredByLogFileValidation: true },
      });
    }
    expect(writes(sandbox(), mark).filter((c) => c.service === 'cloudtrail')).toEqual([]);
  });

  it('restarts the organization trail someone stopped, and accounts are covered again', async () => {
    await management().send(new StopLoggingCommand({ Name: 'casbridge-organization' }));
    const ensure = await task(sandbox(), config());
    expect(await ensure(run(true))).toMatchObject({
      action: 'updated',
      reason: 'dry-run',
      details: { drift: 'restarted-logging' },
    });
    // A dry run still counts the trail it would restart as the accounts' coverage.
    expect(await (await accountStep(sandbox(), config(), 5))(true)).toMatchObject({
      action: 'skipped',
      details: { coveredBy: trailArn() },
    });
    expect(await ensure(run())).toMatchObject({ action: 'updated', reason: 'restarted-logging' });
    expect(await (await accountStep(sandbox(), config(), 5))()).toMatchObject({
      action: 'skipped',
      reason: 'covered-by-organization-trail',
    });
  });

  it('repairs what someone changed on the organization trail: validation, and selectors that miss reads', async () => {
    await management().send(
      new UpdateTrailCommand({ Name: 'casbridge-organization', EnableLogFileValidation: false }),
    );
    await management().send(
      new PutEventSelectorsCommand({
        TrailName: 'casbridge-organization',
        EventSelectors: [{ ReadWriteType: 'WriteOnly' }],
      }),
    );
    const ensure = await task(sandbox(), config());
    const mark = sandbox().world.callLog.mark();
    expect(await ensure(run())).toEqual({
      action: 'updated',
      reason: 'log-file-validation-off,management-events-write-only',
      details: { trailArn: trailArn(), drift: 'log-file-validation-off,management-events-write-only' },
    });
    expect(writes(sandbox(), mark).map((c) => c.operation)).toEqual(['UpdateTrail', 'PutEventSelectors']);
    expect(await ensure(run())).toMatchObject({ action: 'unchanged' });
  });

  it('makes no call in an offboarding run, nor in the other trail modes', async () => {
    const mark = sandbox().world.callLog.mark();
    expect(await (await task(sandbox(), config()))(run(false, 'offboard'))).toEqual({
      action: 'skipped',
      reason: 'offboard-run',
    });
    for (const mode of ['own', 'reuse-existing']) {
      const other = sandboxConfig(sandbox(), { CASBRIDGE_TRAIL_MODE: mode });
      expect(await (await task(sandbox(), other))(run())).toEqual({
        action: 'skipped',
        reason: `trail-mode-${mode}`,
      });
    }
    expect(sandbox().world.callLog.list({ sinceSeq: mark, service: 'cloudtrail' })).toEqual([]);
  });

  it('refuses to run outside the management account, naming it', async () => {
    const settings = await functionRoleSettings(sandbox(), 'organizationTrail');
    const ensure = ensureOrganizationTrail(
      {
        cloudtrail: new CloudTrailClient(clientConfig(settings)),
        organizations: new OrganizationsClient(clientConfig(settings)),
        // As if deployed in a member account: the one check that needs no such deployment.
        centralAccountId: async () => defaultAccountId(1),
        config: config(),
      },
      run(),
    );
    await expect(ensure).rejects.toMatchObject({
      name: 'OrganizationTrailPrerequisite',
      step: 'organizationTrail',
      message: expect.stringContaining(`management account ${sandbox().stack.accountId}`),
    });
  });
});

describe('the organization trail without CloudTrail’s trusted access', () => {
  const sandbox = useSandbox({
    scenario: { ...defaultScenario({ accounts: 2 }), organization: { trustedServices: [] } },
    stackParameters: ORGANIZATION_MODE,
  });

  it('fails with OrganizationTrailPrerequisite naming the command, in a dry run too, and changes nothing', async () => {
    const ensure = await task(sandbox(), sandboxConfig(sandbox()));
    const mark = sandbox().world.callLog.mark();
    for (const dryRun of [true, false]) {
      const failure = ensure(run(dryRun));
      await expect(failure).rejects.toMatchObject({
        name: 'OrganizationTrailPrerequisite',
        retryable: false,
      });
      await expect(failure).rejects.toHaveProperty(
        'remediation',
        expect.stringContaining(
          'aws organizations enable-aws-service-access --service-principal cloudtrail.amazonaws.com',
        ),
      );
    }
    expect(writes(sandbox(), mark)).toEqual([]);
  });
});

describe('the organization trail where Control Tower’s already records every account', () => {
  const sandbox = useSandbox({
    scenario: defaultScenario({ accounts: 2, organizationTrail: true }),
    stackParameters: ORGANIZATION_MODE,
  });
  const controlTower = () =>
    `arn:aws:cloudtrail:us-east-1:${sandbox().stack.accountId}:trail/aws-controltower-BaselineCloudTrail`;

  it('makes none of its own, a paid second copy, and accounts are covered by that one', async () => {
    const mark = sandbox().world.callLog.mark();
    const covered = {
      action: 'skipped',
      reason: 'covered-by-organization-trail',
      details: { coveredBy: controlTower(), coveredByLogFileValidation: true },
    };
    expect(await (await task(sandbox(), sandboxConfig(sandbox())))(run())).toEqual(covered);
    expect(await (await accountStep(sandbox(), sandboxConfig(sandbox()), 1))()).toEqual(covered);
    expect(writes(sandbox(), mark)).toEqual([]);
    // Its status was read by ARN, in any Region, never changed.
    const reads = sandbox().world.callLog.list({
      sinceSeq: mark,
      account: sandbox().stack.accountId,
      service: 'cloudtrail',
    });
    expect(reads.map((c) => [c.operation, c.outcome])).toEqual([
      ['DescribeTrails', 'ok'],
      ['GetTrailStatus', 'ok'],
    ]);
  });

  it('reads that trail’s customised selectors, and makes its own when they miss management events', async () => {
    const management = new CloudTrailClient(sandbox().clientConfig());
    await management.send(
      new PutEventSelectorsCommand({
        TrailName: 'aws-controltower-BaselineCloudTrail',
        EventSelectors: [{ ReadWriteType: 'WriteOnly' }],
      }),
    );
    const ensure = await task(sandbox(), sandboxConfig(sandbox()));
    const mark = sandbox().world.callLog.mark();
    expect(await ensure(run())).toMatchObject({ action: 'created' });
    const calls = sandbox().world.callLog.list({
      sinceSeq: mark,
      account: sandbox().stack.accountId,
      service: 'cloudtrail',
    });
    expect(calls.map((c) => [c.operation, c.outcome])).toEqual([
      ['DescribeTrails', 'ok'],
      ['GetTrailStatus', 'ok'],
      ['GetEventSelectors', 'ok'],
      ['CreateTrail', 'ok'],
      ['StartLogging', 'ok'],
    ]);
    // Both organization trails now log; the accounts are covered by casbridge's, ranked first.
    expect(await (await accountStep(sandbox(), sandboxConfig(sandbox()), 2))()).toMatchObject({
      action: 'skipped',
      details: {
        coveredBy: `arn:aws:cloudtrail:us-east-1:${sandbox().stack.accountId}:trail/casbridge-organization`,
      },
    });
  });
});
