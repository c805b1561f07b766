import { centralAccountId } from '../../commons/clients/central-account';
import { cloudTrailClient } from '../../commons/clients/cloudtrail';
import { stepHandler } from '../../commons/step-handler';
import { accessAccount } from '../access/member-account';
import { ensureTrail } from './ensure-trail';
import { runCoveredResult } from './trail-coverage';

/** Lambda: the account's multi-Region trail, unless another trail already covers it. */
export const handler = stepHandler('trail', async ({ input, runtime }) => {
  // Covered by the run's organization trail: no call to make, so no member session to take.
  const covered = runCoveredResult(runtime.config, input.trailCoverage);
  if (covered) return covered;
  const { member } = await accessAccount(runtime, input.account, input.runId);
  return ensureTrail(cloudTrailClient(member), runtime.config, input.account.accountId, {
    dryRun: input.dryRun,
    centralAccountId: centralAccountId(runtime),
  });
});
