import { connectorLiveness, keyUseOf } from '../../commons/connector-liveness';
import type { ConnectorStatus, LedgerChanges, LedgerView } from '../../commons/ledger';
import { deleteConnectorSecret, secretDeletionChanges } from '../../commons/secret-retention';
import type { StepResult } from '../../commons/step-result';
import { observeKeyUse } from '../access-key/key-use';
import type { VerifyDeps } from './verify-connector';

/**
 * Verify for an account already connected with its key: is the connector still using it
 * (commons/connector-liveness.ts)? CONNECTED while IAM shows a use by a service other than STS
 * within connectorStaleDays, STALE otherwise, CONNECTED again once it is used. The evidence is the
 * access key step's look at the key's last use in this run, so a healthy account costs no call
 * here; only a run without that step's observation (a step run on its own) asks IAM itself.
 */
export async function checkConnectedKey(
  deps: VerifyDeps,
  {
    item,
    keyId,
    steps,
    dryRun,
  }: { item: LedgerView; keyId: string; steps: Record<string, StepResult> | undefined; dryRun: boolean },
): Promise<StepResult> {
  const nowMs = (deps.now ?? Date.now)();
  const use = keyUseOf(steps?.accessKey, keyId) ?? (await observeKeyUse(deps.iam, keyId));
  const live = connectorLiveness(item, use, deps.config, nowMs);
  const connector: ConnectorStatus = live?.stale ? 'STALE' : 'CONNECTED';
  const changes: LedgerChanges = {
    ...(connector !== item.connector ? { connector } : {}),
    ...(use.lastUsedAt && use.lastUsedAt !== item.keyLastUsedAt ? { keyLastUsedAt: use.lastUsedAt } : {}),
  };
  // A key in use since its hand-off is in the portal: a secret still kept for it can go (an
  // account connected before casbridge deleted secrets, or one confirmed by hand before any use).
  const usedSinceHandoff =
    !!use.lastUsedAt && (!item.handoffAt || Date.parse(use.lastUsedAt) >= Date.parse(item.handoffAt));
  const retired =
    !live?.stale && usedSinceHandoff
      ? await retireSecretOnceUsed(deps, item, keyId, new Date(nowMs).toISOString(), { dryRun })
      : undefined;
  const reason = live?.stale
    ? item.connector === 'STALE'
      ? 'connector-still-stale'
      : 'connector-stale'
    : item.connector === 'STALE'
      ? 'connector-live-again'
      : retired
        ? 'secret-deleted'
        : undefined;
  const changed = changes.connector !== undefined || retired !== undefined;
  return {
    action: changed ? 'updated' : 'unchanged',
    ...(dryRun && changed ? { reason: 'dry-run' } : reason ? { reason } : {}),
    details: {
      connector,
      accessKeyId: keyId,
      ...(live ? { idleDays: live.idleDays } : {}),
      ...(use.lastUsedAt ? { keyLastUsedAt: use.lastUsedAt } : {}),
      ...retired?.details,
    },
    ...(!dryRun && (Object.keys(changes).length > 0 || retired)
      ? { ledger: { ...changes, ...retired?.ledger } }
      : {}),
  };
}

/**
 * Deletes the connector secret (with the configured recovery window) once the connector is seen
 * using the key in service, unless secrets are kept. Never during a rotation: the pending key's
 * secret is still to be pasted, and the secret's tags are what name the two keys until it ends.
 * Undefined when there is nothing to delete.
 */
export async function retireSecretOnceUsed(
  deps: VerifyDeps,
  item: LedgerView,
  keyId: string,
  at: string,
  { dryRun = false }: { dryRun?: boolean } = {},
): Promise<{ details: Record<string, string>; ledger?: LedgerChanges } | undefined> {
  const secretArn = item.secretArn;
  if (deps.config.keepSecrets || !secretArn || item.pendingAccessKeyId || item.accessKeyId !== keyId)
    return undefined;
  if (dryRun) return { details: { secret: 'deletion-planned' } };
  const { deletionDate } = await deleteConnectorSecret(
    deps.secrets,
    secretArn,
    deps.config.secretRecoveryDays,
  );
  return {
    details: { secret: 'deleted', ...(deletionDate ? { secretDeletionDate: deletionDate } : {}) },
    ledger: secretDeletionChanges(at),
  };
}
