import { GetAccessKeyLastUsedCommand, type IAMClient } from '@aws-sdk/client-iam';
import { connectedKeyOf, isLiveChecked, type KeyUse, keyUseDetails } from '../../commons/connector-liveness';
import type { LedgerView } from '../../commons/ledger';
import type { StepResult } from '../../commons/step-result';

/** One GetAccessKeyLastUsed: a use by STS (casbridge's own proof), or none ("N/A"), is no use by the connector. */
export async function observeKeyUse(iam: IAMClient, accessKeyId: string): Promise<KeyUse> {
  const used = (await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId })))
    .AccessKeyLastUsed;
  if (!used?.LastUsedDate || !used.ServiceName || used.ServiceName === 'N/A' || used.ServiceName === 'sts')
    return { accessKeyId };
  return { accessKeyId, lastUsedAt: used.LastUsedDate.toISOString(), service: used.ServiceName };
}

/**
 * A connected account's key in service, checked for the connector's use on every run
 * (commons/connector-liveness.ts): the register and verify steps decide on this one observation.
 */
export async function withKeyUse(
  iam: IAMClient,
  ledger: LedgerView | undefined,
  result: StepResult,
): Promise<StepResult> {
  const keyId = result.details?.accessKeyId;
  if (!ledger || !isLiveChecked(ledger) || typeof keyId !== 'string' || result.details?.pendingAccessKeyId)
    return result;
  if (keyId !== connectedKeyOf(ledger)) return result;
  return { ...result, details: { ...result.details, ...keyUseDetails(await observeKeyUse(iam, keyId)) } };
}
