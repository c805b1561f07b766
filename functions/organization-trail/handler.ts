import { centralAccountId } from '../../commons/clients/central-account';
import { centralCloudTrailClient } from '../../commons/clients/cloudtrail';
import { organizationsClient } from '../../commons/clients/organizations';
import { lambdaHandler } from '../../commons/step-handler';
import { ensureOrganizationTrail, parseOrganizationTrailInput } from './ensure-organization-trail';

/**
 * Lambda, once per run before the accounts: the organization trail of `organization` trail mode
 * (a `skipped` result without an AWS call in the other modes).
 */
export const handler = lambdaHandler(
  'organizationTrail',
  parseOrganizationTrailInput,
  (input) => ({ runId: input.runId, dryRun: input.dryRun }),
  async ({ input, runtime }) =>
    ensureOrganizationTrail(
      {
        cloudtrail: centralCloudTrailClient(runtime),
        organizations: organizationsClient(runtime),
        centralAccountId: centralAccountId(runtime),
        config: runtime.config,
      },
      input,
    ),
);
