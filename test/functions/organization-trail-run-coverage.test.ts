import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { clientConfig } from '../../commons/aws-clients';
import { findRunCoverage } from '../../functions/trail/trail-coverage';
import { regionalState } from '../../sandbox/core/world';
import { defaultAccountId, defaultScenario } from '../../sandbox/scenario/default-scenario';
import { functionRoleSettings, sandboxConfig } from '../support/product';
import { useSandbox } from '../support/sandbox';

const MANAGEMENT = '999988887777';
const DELEGATED = defaultAccountId(2);

describe('the run’s organization trail coverage, from a delegated administrator account', () => {
  const base = defaultScenario({ accounts: 3, organizationTrail: true });
  const sandbox = useSandbox({
    scenario: { ...base, organization: { ...base.organization, casbridgeAccountId: DELEGATED } },
  });

  it('finds the management account’s organization trail through its shadow, as ResolveTargets’ own role', async () => {
    // Guards: a ResolveTargets role that reads only its own account's trails, refused the
    // management account's organization trail a delegated casbridge sees as a shadow trail.
    expect(sandbox().stack.accountId).toBe(DELEGATED);
    // The scenario seeds its organization trail in casbridge's account; Control Tower's is the
    // management account's, which a member (the delegated administrator) sees as a shadow trail.
    const name = 'aws-controltower-BaselineCloudTrail';
    const seeded = regionalState(sandbox().world, DELEGATED, 'us-east-1').trails;
    const trail = seeded.get(name)!;
    seeded.delete(name);
    regionalState(sandbox().world, MANAGEMENT, 'us-east-1').trails.set(name, {
      ...trail,
      arn: `arn:aws:cloudtrail:us-east-1:${MANAGEMENT}:trail/${name}`,
    });
    const cloudtrail = new CloudTrailClient(
      clientConfig(await functionRoleSettings(sandbox(), 'resolveTargets')),
    );
    const mark = sandbox().world.callLog.mark();
    expect(await findRunCoverage(cloudtrail, sandboxConfig(sandbox()))).toEqual({
      trailArn: `arn:aws:cloudtrail:us-east-1:${MANAGEMENT}:trail/aws-controltower-BaselineCloudTrail`,
      organization: true,
      logFileValidation: true,
      excludedSources: [],
    });
    expect(
      sandbox()
        .world.callLog.list({ sinceSeq: mark })
        .map((c) => `${c.account} ${c.service}:${c.operation} ${c.outcome}`),
    ).toEqual([`${DELEGATED} cloudtrail:DescribeTrails ok`, `${DELEGATED} cloudtrail:GetTrailStatus ok`]);
  });
});
