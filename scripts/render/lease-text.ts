import type { LedgerItem } from '../../commons/ledger';

/** An account's lease as `casbridge status --json` prints it. */
export interface LeaseStatus {
  /** The holder's run id (null on a lease that does not record it). */
  runId: string | null;
  /** The holder's execution token: an execution ARN, or a local run's execution name. */
  token: string;
  expiresAt: string | null;
  /** Seconds from now to the expiry: negative once it has passed. */
  expiresInSeconds: number | null;
  /** Past its expiry: the account is free, the next run takes the lease. */
  expired: boolean;
}

/** The last `casbridge unlock` of the account. */
export interface UnlockRecord {
  by: string;
  at: string;
  runId: string | null;
  token: string | null;
}

/** The account's lease, or null when none is recorded. */
export function leaseStatus(item: LedgerItem, now: number): LeaseStatus | null {
  if (!item.leaseOwner) return null;
  const expires = typeof item.leaseExpiresAt === 'number' ? item.leaseExpiresAt : null;
  return {
    runId: item.leaseRunId ?? null,
    token: item.leaseOwner,
    expiresAt: expires === null ? null : new Date(expires).toISOString(),
    expiresInSeconds: expires === null ? null : Math.round((expires - now) / 1000),
    // As the runs decide it (resolve-targets): a lease is held only until its expiry.
    expired: expires === null || expires <= now,
  };
}

export function unlockRecord(item: LedgerItem): UnlockRecord | null {
  if (!item.unlockedBy || !item.unlockedAt) return null;
  return {
    by: item.unlockedBy,
    at: item.unlockedAt,
    runId: item.unlockedLeaseRunId ?? null,
    token: item.unlockedLeaseOwner ?? null,
  };
}

/** Who holds the lease: `run R (token T)`, the token alone when the run id is not recorded. */
export function leaseHolder(lease: Pick<LeaseStatus, 'runId' | 'token'>): string {
  if (!lease.runId || lease.runId === lease.token) return `run ${lease.token}`;
  return `run ${lease.runId} (token ${lease.token})`;
}

/**
 * The lease in one phrase: `held by run R (token T) until 2025-01-01 12:15:00Z (in 14 min)`, or
 * `expired 2025-01-01 12:15:00Z (3 min ago), last held by run R: free`, or `none`.
 */
export function describeLease(lease: LeaseStatus | null): string {
  if (!lease) return 'none';
  const when =
    lease.expiresAt === null || lease.expiresInSeconds === null
      ? 'no expiry recorded'
      : `${shortTime(lease.expiresAt)} (${relativeTime(lease.expiresInSeconds)})`;
  if (lease.expired)
    return `expired ${when}, last held by ${leaseHolder(lease)}: free, the next run takes it`;
  return `held by ${leaseHolder(lease)} until ${when}`;
}

/** `in 14 min` or `3 min ago`, in the largest unit that keeps it short. */
export function relativeTime(seconds: number): string {
  const magnitude = Math.abs(seconds);
  const amount =
    magnitude < 90
      ? `${magnitude} s`
      : magnitude < 90 * 60
        ? `${Math.round(magnitude / 60)} min`
        : magnitude < 48 * 3600
          ? `${Math.round(magnitude / 3600)} h`
          : `${Math.round(magnitude / 86_400)} d`;
  return seconds >= 0 ? `in ${amount}` : `${amount} ago`;
}

/** An ISO timestamp to the second, as the tables show times: `2025-01-01 12:15:00Z`. */
function shortTime(iso: string): string {
  return `${iso.slice(0, 19).replace('T', ' ')}Z`;
}
