import { DeleteSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsErrorName } from './errors';
import type { LedgerChanges, LedgerView } from './ledger';
import { OFFBOARDED_STATUSES } from './ledger-view';
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
 * casbridge deleted the connector secret of the keys the ledger names: once the connector was
 * seen using the key in service, or (keyDelivery on-demand) right after `casbridge credentials
 * --new-key` revealed a key minted minutes before. No secret is expected then (a
 * scheduled-for-deletion one is not restored), and the ledger's `accessKeyId` and
 * `pendingAccessKeyId` name the keys, not the secret's tags. Not for an offboarded account
 * (re-onboarding restores its secret). A step that writes a secret again clears `secretDeletedAt`
 * (withSecretRetention), so a kept secret and this never meet.
 */
export function secretDeletedForConnector(view: LedgerView | undefined): boolean {
  return Boolean(view?.secretDeletedAt) && !OFFBOARDED_STATUSES.includes(view?.connector ?? 'NOT_REGISTERED');
}

/** The command that mints a connector key at the portal and shows it once (keys minted on demand). */
export function newKeyCommand(accountId: string): string {
  return `casbridge credentials ${accountId} --new-key`;
}

/** The commands that give a connector a key it can be pasted again. */
export function rotateCommands(accountId: string): {
  rotate: string;
  run: string;
  credentials: string;
  newKey: string;
} {
  return {
    rotate: `casbridge rotate ${accountId}`,
    run: `casbridge run --mode reconcile --accounts ${accountId}`,
    credentials: `casbridge credentials ${accountId}`,
    newKey: newKeyCommand(accountId),
  };
}

/** What to do when the connector's key must be pasted again and casbridge keeps no secret for it. */
export function newKeyInstructions(accountId: string): string {
  return `To paste a key again, get a new one at the portal: \`${newKeyCommand(accountId)}\` mints it in a one-account run, shows it once and schedules its secret's deletion; the key in service stays active until the connector is seen using the new one.`;
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
  if (!secretDeletedForConnector(view)) return result;
  return { ...result, details: { ...details, secretDeleted: true } };
}

/** The ledger's record of a deletion: the ARN goes (no secret behind it), the time stays. */
export function secretDeletionChanges(at: string): LedgerChanges {
  return { secretArn: null, secretDeletedAt: at };
}
