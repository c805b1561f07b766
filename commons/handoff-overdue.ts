import type { Config } from './config';
import type { LedgerView } from './ledger';

/**
 * AWS Security Hub IAM.22 (AWS Config rule iam-user-unused-credentials-check, maxCredentialUsageAge
 * 45) fails an access key not used for 45 days. A handed-off key is unused from its creation until
 * the operator pastes it into the Defender portal, and the hand-off is made in the run that created
 * the key, so the hand-off time stands for the key's first day of disuse.
 */
export const IAM22_UNUSED_DAYS = 45;

/**
 * AWS Security Hub IAM.3 (AWS Config rule access-keys-rotated, maxAccessKeyAge 90) fails an active
 * access key older than 90 days; config.ts refuses a rotation age above it.
 */
export const IAM3_MAX_KEY_AGE_DAYS = 90;

const DAY_MS = 86_400_000;

/** How long a handed-off key has waited for the connector, and what casbridge owes the operator. */
export interface HandoffWait {
  /** The key the operator was asked to paste. */
  accessKeyId: string;
  handoffAt: string;
  /** Whole days since the hand-off. */
  waitingDays: number;
  /** The key waited `handoffOverdueDays` or more: connector status HANDOFF_OVERDUE. */
  overdue: boolean;
  /**
   * A reminder is owed: the key is overdue and the operator was not reminded of this key within
   * the last overdue period. So with the default 14 days: reminders at days 14, 28 and 42 of a
   * daily schedule, the last one before IAM.22 fails at 45, then every 14 days while it waits.
   */
  reminderDue: boolean;
  /** When Security Hub IAM.22 fails (or failed) the key if it is still unused. */
  failsIam22At: string;
  /** Whole days left until then; 0 once it has. */
  daysUntilIam22: number;
}

/**
 * The wait of the account's handed-off key, or undefined when no hand-off is pending (never
 * handed off, connected, offboarded). The register step decides on the reminder with it and the
 * verify step on the status, from the same ledger view and clock, so the two never disagree.
 */
export function handoffWait(
  view: LedgerView,
  config: Pick<Config, 'handoffOverdueDays'>,
  nowMs: number,
): HandoffWait | undefined {
  const { handoffAccessKeyId: accessKeyId, handoffAt } = view;
  if (!accessKeyId || !handoffAt) return undefined;
  if (view.connector !== 'AWAITING_CONNECTION' && view.connector !== 'HANDOFF_OVERDUE') return undefined;
  const handoffMs = Date.parse(handoffAt);
  if (!Number.isFinite(handoffMs)) return undefined;
  const periodMs = config.handoffOverdueDays * DAY_MS;
  const overdue = nowMs - handoffMs >= periodMs;
  const remindedMs =
    view.handoffReminderAccessKeyId === accessKeyId && view.handoffReminderAt
      ? Date.parse(view.handoffReminderAt)
      : Number.NaN;
  // A reminder older than the hand-off belongs to an earlier wait of the same key.
  const remindedThisWait = Number.isFinite(remindedMs) && remindedMs >= handoffMs;
  const failsMs = handoffMs + IAM22_UNUSED_DAYS * DAY_MS;
  return {
    accessKeyId,
    handoffAt,
    waitingDays: Math.max(0, Math.floor((nowMs - handoffMs) / DAY_MS)),
    overdue,
    reminderDue: overdue && (!remindedThisWait || nowMs - remindedMs >= periodMs),
    failsIam22At: new Date(failsMs).toISOString(),
    daysUntilIam22: Math.max(0, Math.ceil((failsMs - nowMs) / DAY_MS)),
  };
}
