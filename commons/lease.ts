/**
 * How long one step of an account's pipeline can hold the account between two of its lease
 * checks: the longest single attempt of a per-account Task (its TimeoutSeconds; every function's
 * Lambda timeout is shorter) plus the longest single wait before its next attempt (the largest
 * `min(IntervalSeconds * BackoffRate^(MaxAttempts-1), MaxDelaySeconds)` of its retriers). Every
 * attempt of every step starts with a lease check (commons/step-handler.ts), so a lease with at
 * least this much left when an attempt starts cannot lapse before the next attempt checks again.
 *
 * From statemachine/casbridge.asl.yml: Offboard's 300 s attempt plus RoleNotReady's 120 s cap.
 * test/unit/lease-budget.test.ts recomputes it from the definition and names the new value when
 * the definition changes.
 */
export const LEASE_STEP_SECONDS = 420;

/**
 * Whether an attempt starting at `nowMs` must renew a lease that expires at `expiresAtMs` before
 * it touches the account: less than one step's budget left (an expired lease included).
 */
export function leaseNeedsRenewal(expiresAtMs: number, nowMs: number): boolean {
  return expiresAtMs - nowMs < LEASE_STEP_SECONDS * 1000;
}

/** The ledger key of the item that remembers which run a lifecycle event started. */
export function eventItemKey(eventId: string): string {
  return `event#${eventId}`;
}

/**
 * How long the ledger remembers which run an event started (its DynamoDB TTL): EventBridge
 * retries a delivery for up to 24 hours, so 30 days leaves a wide margin, and the items of a busy
 * organization's events do not pile up forever.
 */
export const EVENT_MEMORY_DAYS = 30;

/** Ledger keys that are accounts (12 digits); anything else (an event's item) is not an account. */
export function isAccountKey(key: string): boolean {
  return /^\d{12}$/.test(key);
}
