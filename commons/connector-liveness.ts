import type { Config } from './config';
import { IAM22_UNUSED_DAYS } from './handoff-overdue';
import type { ConnectorStatus, LedgerView } from './ledger';
import type { StepResult } from './step-result';

/**
 * Issue 12 §4: a connected account is checked again on every run. The connector polls CloudTrail
 * and IAM with its key all day, so IAM's record of the key's last use by a service other than STS
 * (casbridge's own one-off proof is an STS call) says whether it still runs. A key unused for
 * connectorStaleDays makes the account STALE and the operator is told once per stale period.
 *
 * The access key step reads the key's last use (one GetAccessKeyLastUsed, the one call a connected
 * account's reconcile adds: functions/access-key/key-use.ts) and reports it in its result, so the register step, which runs before
 * verify and holds the hand-off channels, can tell the operator in the same run, and verify sets
 * the status from the same evidence and clock: the two never disagree.
 */

const DAY_MS = 86_400_000;

/** The statuses of an account whose connector holds the key in service. */
export const LIVE_CHECKED: readonly ConnectorStatus[] = ['CONNECTED', 'STALE'];

export function isLiveChecked(view: Pick<LedgerView, 'connector'> | undefined): boolean {
  return LIVE_CHECKED.includes(view?.connector ?? 'NOT_REGISTERED');
}

/**
 * IAM's record of a key's last use, as far as it speaks for the connector. No IAM client here:
 * the register step decides on it too, and its bundle holds no IAM client.
 */
export interface KeyUse {
  accessKeyId: string;
  /** The last use, when by a service other than STS (ISO time); absent when none or STS. */
  lastUsedAt?: string;
  /** The service of that use, as IAM names it (`cloudtrail`, `iam`, …). */
  service?: string;
}

/** The observation as step result details (secret-free: a key id, a time, a service name). */
export function keyUseDetails(use: KeyUse): Record<string, string> {
  return {
    keyUseChecked: use.accessKeyId,
    ...(use.lastUsedAt ? { keyLastUsedAt: use.lastUsedAt } : {}),
    ...(use.service ? { keyLastUsedService: use.service } : {}),
  };
}

/** The access key step's observation of `accessKeyId` in this run, if it made one. */
export function keyUseOf(step: StepResult | undefined, accessKeyId: string): KeyUse | undefined {
  const details = step?.details;
  if (details?.keyUseChecked !== accessKeyId) return undefined;
  return {
    accessKeyId,
    ...(typeof details.keyLastUsedAt === 'string' ? { lastUsedAt: details.keyLastUsedAt } : {}),
    ...(typeof details.keyLastUsedService === 'string' ? { service: details.keyLastUsedService } : {}),
  };
}

/** The key the connector was last seen connected with: the one handed off, or (before any hand-off) the current one. */
export function connectedKeyOf(view: LedgerView): string | undefined {
  return view.handoffAccessKeyId ?? view.accessKeyId ?? undefined;
}

/** Where a connected connector stands, and what casbridge owes the operator. */
export interface Liveness {
  accessKeyId: string;
  /** The time the idle days count from: the connector's last use, else its connection. */
  activeAt: string;
  /** Whole days since `activeAt`. */
  idleDays: number;
  /** Unused for more than connectorStaleDays: connector status STALE. */
  stale: boolean;
  /**
   * A notice is owed: stale, and the operator was not told of this key since it went quiet, or
   * was told a stale period ago or more (so with the default 7 days: a notice on day 8, then
   * weekly while it stays quiet).
   */
  noticeDue: boolean;
  /** When Security Hub IAM.22 fails (or failed) the key if it stays unused: 45 days after `activeAt`. */
  failsIam22At: string;
}

/**
 * The liveness of the account's connected key from one observation of its use, or undefined when
 * the account is not connected with that key (never connected, awaiting a hand-off or a rotation,
 * offboarded). An operator's `casbridge confirm` of this key counts as activity too: without it a
 * connection confirmed by hand, before IAM shows a use, would be stale at once.
 */
export function connectorLiveness(
  view: LedgerView,
  use: KeyUse | undefined,
  config: Pick<Config, 'connectorStaleDays'>,
  nowMs: number,
): Liveness | undefined {
  const accessKeyId = connectedKeyOf(view);
  if (!isLiveChecked(view) || !accessKeyId || !use || use.accessKeyId !== accessKeyId) return undefined;
  const handoffMs = view.handoffAt ? Date.parse(view.handoffAt) : Number.NaN;
  const confirmedMs = view.confirmedAt ? Date.parse(view.confirmedAt) : Number.NaN;
  const confirmed = Number.isFinite(confirmedMs) && !(confirmedMs < handoffMs) ? confirmedMs : Number.NaN;
  const usedMs = use.lastUsedAt ? Date.parse(use.lastUsedAt) : Number.NaN;
  const candidates = [usedMs, confirmed].filter(Number.isFinite);
  const connectedMs = view.connectedAt ? Date.parse(view.connectedAt) : nowMs;
  const activeMs = candidates.length > 0 ? Math.max(...candidates) : connectedMs;
  const periodMs = config.connectorStaleDays * DAY_MS;
  const stale = nowMs - activeMs > periodMs;
  const noticedMs =
    view.staleNoticeAccessKeyId === accessKeyId && view.staleNoticeAt
      ? Date.parse(view.staleNoticeAt)
      : Number.NaN;
  // A notice sent before the connector's last activity belongs to an earlier quiet spell.
  const noticedThisSpell = Number.isFinite(noticedMs) && noticedMs >= activeMs;
  return {
    accessKeyId,
    activeAt: new Date(activeMs).toISOString(),
    idleDays: Math.max(0, Math.floor((nowMs - activeMs) / DAY_MS)),
    stale,
    noticeDue: stale && (!noticedThisSpell || nowMs - noticedMs >= periodMs),
    failsIam22At: new Date(activeMs + IAM22_UNUSED_DAYS * DAY_MS).toISOString(),
  };
}
