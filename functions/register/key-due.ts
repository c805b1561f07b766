import { createHash } from 'node:crypto';
import type { Config } from '../../commons/config';
import { IAM3_MAX_KEY_AGE_DAYS, IAM22_UNUSED_DAYS } from '../../commons/handoff-overdue';
import type { ConnectorStatus, KeyDueReason, LedgerChanges, LedgerView } from '../../commons/ledger';
import { newKeyCommand } from '../../commons/secret-retention';
import type { StepResult, TargetAccount } from '../../commons/step-result';
import { publishHandoff, type RegisterDeps, subjectLine } from './ensure-registration';

const DAY_MS = 86_400_000;

/** The `type` of the key-due hand-off and its reminders (subscribers filter on it). */
export const KEY_DUE_TYPE = 'connector.key-due';

/**
 * keyDelivery on-demand (issue 12 §5, docs/cost.md): no run mints a connector key by itself, so
 * no secret waits days in Secrets Manager for a paste. A run that finds a key due (a new account,
 * the key in service past keyMaxAgeDays, a `casbridge rotate` request) tells the operator, once
 * per due key, that it is ready to be minted and how: `casbridge credentials ACCOUNT --new-key`
 * at the portal mints it in a one-account run, shows it once and schedules its secret's deletion.
 * The same channels (topic and webhook) and discipline as every hand-off: one handoffId per due
 * key for every delivery, a reminder once per overdue period, never a secret (there is none yet).
 */
export interface KeyDueMessage {
  type: typeof KEY_DUE_TYPE;
  handoffId: string;
  accountId: string;
  accountName: string;
  instanceName: string;
  /** Why: `new-account` (no key yet), `rotation-due` (the key in service is old), `requested` (`casbridge rotate`). */
  keyDue: KeyDueReason;
  /** When casbridge found the key due. */
  dueSince: string;
  /** During a rotation: the key in service, which stays active until the connector uses the new one. */
  accessKeyId?: string;
  newKeyCommand: string;
  portalSteps: string[];
  requestedAt: string;
  reminder?: { dueSince: string; waitingDays: number; notice: string };
}

/**
 * The key-due hand-off, or its reminder, when one is owed; undefined when the operator was told
 * already and no reminder is due (a connected account's rotation then goes on as before).
 */
export async function handOffKeyDue(
  deps: RegisterDeps,
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  request: { due: KeyDueReason; item: LedgerView; dryRun: boolean; keyCreatedAt?: string },
): Promise<StepResult | undefined> {
  const { due, item, dryRun } = request;
  const now = (deps.now ?? Date.now)();
  const dueSince = item.keyDueAt ?? new Date(now).toISOString();
  const wait = keyDueWait(item, deps.config, now);
  const newAccount = due === 'new-account';
  const connector: ConnectorStatus | undefined = newAccount
    ? wait?.reminderDue
      ? 'HANDOFF_OVERDUE'
      : (wait?.connector ?? 'AWAITING_CONNECTION')
    : undefined;
  if (wait && !wait.reminderDue) return undefined;
  const details = {
    type: KEY_DUE_TYPE,
    keyDue: due,
    ...(connector ? { connector } : {}),
    ...(wait ? { waitingDays: wait.waitingDays } : {}),
  };
  const reason = wait ? 'key-due-reminder-sent' : 'key-due-handoff-sent';
  if (dryRun)
    return {
      action: wait ? 'updated' : 'created',
      reason: 'dry-run',
      details: { planned: reason, ...details },
    };
  const requestedAt = new Date(now);
  const accessKeyId = newAccount ? undefined : (item.accessKeyId ?? undefined);
  const message = keyDueMessage(account, {
    due,
    dueSince,
    requestedAt,
    ...(accessKeyId ? { accessKeyId } : {}),
    ...(wait ? { wait, previousReminderAt: item.keyDueReminderAt ?? undefined } : {}),
    ...(request.keyCreatedAt ? { keyCreatedAt: request.keyCreatedAt } : {}),
  });
  const sent = await publishHandoff(deps, message, keyDueSubject(message));
  const ledger: LedgerChanges = wait
    ? { keyDueReminderAt: requestedAt.toISOString(), ...(connector ? { connector } : {}) }
    : { keyDueHandoffAt: requestedAt.toISOString(), ...(connector ? { connector } : {}) };
  return {
    action: wait ? 'updated' : 'created',
    reason,
    details: { ...details, ...sent.details },
    ledger,
    ...sent.pending,
  };
}

/** A new account's key-due hand-off was sent before and no reminder is owed: it waits for --new-key. */
export function keyDueWaiting(
  item: LedgerView,
  config: Pick<Config, 'handoffOverdueDays'>,
  nowMs: number,
): StepResult {
  const wait = keyDueWait(item, config, nowMs);
  const connector = wait?.connector ?? 'AWAITING_CONNECTION';
  return {
    action: 'unchanged',
    reason: connector === 'HANDOFF_OVERDUE' ? 'reminder-sent-earlier' : 'key-not-minted',
    details: { connector, type: KEY_DUE_TYPE, keyDue: item.keyDue ?? 'new-account' },
  };
}

interface KeyDueWait {
  waitingDays: number;
  reminderDue: boolean;
  /** A new account's status while it waits: overdue once reminded. */
  connector: ConnectorStatus;
}

/**
 * How long the operator has been told of the due key: undefined until the hand-off. Overdue and
 * reminded as a handed-off key is (commons/handoff-overdue.ts), after handoffOverdueDays and once
 * per such period.
 */
function keyDueWait(
  item: LedgerView,
  config: Pick<Config, 'handoffOverdueDays'>,
  nowMs: number,
): KeyDueWait | undefined {
  const toldMs = item.keyDueHandoffAt ? Date.parse(item.keyDueHandoffAt) : Number.NaN;
  if (!Number.isFinite(toldMs)) return undefined;
  const periodMs = config.handoffOverdueDays * DAY_MS;
  const remindedMs = item.keyDueReminderAt ? Date.parse(item.keyDueReminderAt) : Number.NaN;
  const reminded = Number.isFinite(remindedMs) && remindedMs >= toldMs;
  const overdue = nowMs - toldMs >= periodMs;
  return {
    waitingDays: Math.max(0, Math.floor((nowMs - toldMs) / DAY_MS)),
    reminderDue: overdue && (!reminded || nowMs - remindedMs >= periodMs),
    connector: reminded ? 'HANDOFF_OVERDUE' : 'AWAITING_CONNECTION',
  };
}

/** The portal procedure of reference/defender-for-cloud-apps.md §1.3, with the key minted on the spot. */
export function keyDueMessage(
  account: Pick<TargetAccount, 'accountId' | 'name'>,
  request: {
    due: KeyDueReason;
    dueSince: string;
    requestedAt: Date;
    accessKeyId?: string;
    keyCreatedAt?: string;
    wait?: KeyDueWait;
    previousReminderAt?: string | undefined;
  },
): KeyDueMessage {
  const { due, dueSince, requestedAt, accessKeyId, wait } = request;
  const instanceName = `${account.name} (${account.accountId})`;
  const command = newKeyCommand(account.accountId);
  const open =
    'In the Microsoft Defender portal, open Settings → Cloud Apps → App Connectors (Connected apps).';
  const mint = `In a terminal beside the portal, run \`${command}\`: it mints the key in a one-account run, shows the Access key and Secret key once, and schedules their secret's deletion minutes later.`;
  const check = `Check that the connector status is Connected. casbridge detects the connector's first use of the key on its next run; to record it at once, run \`casbridge confirm ${account.accountId}\`.`;
  const portalSteps =
    due === 'new-account'
      ? [
          open,
          'Choose + Connect an app → Amazon Web Services.',
          `Name the instance "${instanceName}" and choose Security auditing.`,
          mint,
          'Paste the Access key and Secret key, then choose Next.',
          check,
        ]
      : [
          open,
          `Find the existing Amazon Web Services instance "${instanceName}" and choose Edit settings on its row (do not connect a new instance).`,
          mint,
          'Click through to the credentials, paste the new Access key and Secret key, and save the connector.',
          `${check} The key in service${accessKeyId ? ` (${accessKeyId})` : ''} stays active until the new one is seen in use.`,
        ];
  const reminderSeed = wait ? `:reminder:${request.previousReminderAt ?? dueSince}` : '';
  const createdMs = request.keyCreatedAt ? Date.parse(request.keyCreatedAt) : Number.NaN;
  const iam3 = Number.isFinite(createdMs)
    ? ` Security Hub IAM.3 fails the key in service once it is ${IAM3_MAX_KEY_AGE_DAYS} days old, on ${new Date(createdMs + IAM3_MAX_KEY_AGE_DAYS * DAY_MS).toISOString().slice(0, 10)}.`
    : '';
  return {
    type: KEY_DUE_TYPE,
    handoffId: createHash('sha256')
      .update(`${KEY_DUE_TYPE}:${account.accountId}:${due}:${dueSince}${reminderSeed}`)
      .digest('hex')
      .slice(0, 32),
    accountId: account.accountId,
    accountName: account.name,
    instanceName,
    keyDue: due,
    dueSince,
    ...(accessKeyId ? { accessKeyId } : {}),
    newKeyCommand: command,
    portalSteps,
    requestedAt: requestedAt.toISOString(),
    ...(wait
      ? {
          reminder: {
            dueSince,
            waitingDays: wait.waitingDays,
            notice:
              due === 'new-account'
                ? `The connector key for "${instanceName}" has been ready to mint for ${wait.waitingDays} days and nobody has minted it: the account is not watched by Defender for Cloud Apps until then. Follow the portal steps below.`
                : `A new connector key for "${instanceName}" has been due for ${wait.waitingDays} days.${iam3} Follow the portal steps below (a key minted now is in use by the next run after the paste; IAM.22, ${IAM22_UNUSED_DAYS} days unused, never applies to a key minted at the paste).`,
          },
        }
      : {}),
  };
}

function keyDueSubject(message: KeyDueMessage): string {
  const overdue = message.reminder ? `Overdue ${message.reminder.waitingDays} days: ` : '';
  const what =
    message.keyDue === 'new-account'
      ? `Connect ${message.instanceName}: its key is ready to mint`
      : `Rotate the key of ${message.instanceName}: a new key is due`;
  return subjectLine(`casbridge: ${overdue}${what}`);
}
