import { DeleteSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { isLiveChecked } from './connector-liveness';
import { awsErrorName } from './errors';
import type { LedgerChanges, LedgerView } from './ledger';
import type { StepResult } from './step-result';

/**
 * Issue 12 §5: a secret is kept only while a person still needs it. The operator needs the
 * connector secret to paste the key into the Defender portal; once the connector is seen using
 * the key, the portal holds it, and the secret in Secrets Manager is only a second copy that costs
 * $0.40 a month ($4,000 a month at 10,000 accounts). So verify deletes it then (with a recovery
 * window), unless CASBRIDGE_KEEP_SECRETS, and a rotation's secret likewise once the new key is in
 * use. At steady state the secrets left are those of accounts still awaiting a connection.
 *
 * The ledger then knows the key in service from `accessKeyId` (never the secret): the access key
 * step reads it there, not from the secret's tags. Pasting the key again takes a new key.
 */

/**
 * The connector holds the key in service and casbridge deleted its secret: no secret is expected
 * (a scheduled-for-deletion one is not restored), the key in service is the ledger's. Not during
 * a rotation (its pending secret is live) nor for an offboarded account (re-onboarding restores).
 */
export function secretDeletedForConnector(view: LedgerView | undefined): boolean {
  return Boolean(view?.secretDeletedAt) && isLiveChecked(view) && !view?.pendingAccessKeyId;
}

/** The commands that give a connector whose secret was deleted a key it can be pasted again. */
export function rotateCommands(accountId: string): { rotate: string; run: string; credentials: string } {
  return {
    rotate: `casbridge rotate ${accountId}`,
    run: `casbridge run --mode reconcile --accounts ${accountId}`,
    credentials: `casbridge credentials ${accountId}`,
  };
}

/** What to do when the connector's key must be pasted again and casbridge keeps no secret for it. */
export function newKeyInstructions(accountId: string): string {
  const c = rotateCommands(accountId);
  return `To paste a key again, get a new one: run \`${c.rotate}\`, then \`${c.run}\` (or wait for the daily run); it creates the new key, keeps its secret until the connector uses it and sends a connector.rotation hand-off, and \`${c.credentials}\` then shows the new key.`;
}

/**
 * Schedules the secret's deletion with the recovery window; one already scheduled or gone (by
 * hand, or a retried step) is as good. Returns when Secrets Manager deletes it for good.
 */
export async function deleteConnectorSecret(
  secrets: SecretsManagerClient,
  secretArn: string,
  recoveryDays: number,
): Promise<{ deletionDate?: string }> {
  try {
    const out = await secrets.send(
      new DeleteSecretCommand({ SecretId: secretArn, RecoveryWindowInDays: recoveryDays }),
    );
    return out.DeletionDate ? { deletionDate: out.DeletionDate.toISOString() } : {};
  } catch (error) {
    const name = awsErrorName(error);
    // InvalidRequestException: already scheduled for deletion.
    if (name === 'ResourceNotFoundException' || name === 'InvalidRequestException') return {};
    throw error;
  }
}

/**
 * The access key step's result with what the later steps need to know of the secret: that none
 * is kept for the key in service (`secretDeleted`, instead of an ARN), or, when the step wrote a
 * secret again (a rotation, a new key), that the ledger's deletion no longer holds.
 */
export function withSecretRetention(view: LedgerView | undefined, result: StepResult): StepResult {
  const details = result.details;
  if (!details || typeof details.accessKeyId !== 'string') return result;
  if (typeof details.secretArn === 'string') {
    return view?.secretDeletedAt
      ? { ...result, ledger: { ...result.ledger, secretDeletedAt: null } }
      : result;
  }
  if (!secretDeletedForConnector(view) || details.pendingAccessKeyId) return result;
  return { ...result, details: { ...details, secretDeleted: true } };
}

/** The ledger's record of a deletion: the ARN goes (no secret behind it), the time stays. */
export function secretDeletionChanges(at: string): LedgerChanges {
  return { secretArn: null, secretDeletedAt: at };
}
