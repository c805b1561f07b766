import { CredentialCache, type MemberAccount } from '../../commons/aws-clients';
import { stsClient } from '../../commons/clients/sts';
import { perRuntime, type Runtime } from '../../commons/runtime';
import type { StepResult, TargetAccount } from '../../commons/step-result';
import { ensureAccess } from './ensure-access';

const credentialCache = perRuntime((runtime) => new CredentialCache(runtime.now));

/**
 * Assumes (or reuses) the member role in the account; the result is the access step's. The
 * credentials stay in this process: member clients are built from `member` (commons/clients/iam,
 * commons/clients/cloudtrail).
 */
export async function accessAccount(
  runtime: Runtime,
  account: TargetAccount,
  runId: string,
): Promise<{ member: MemberAccount; result: StepResult }> {
  const { session, result } = await ensureAccess(
    { sts: stsClient(runtime), cache: credentialCache(runtime), config: runtime.config },
    account,
    runId,
  );
  return { member: { settings: runtime.settings, session }, result };
}
