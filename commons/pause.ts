const SCALE = Symbol.for('casbridge.pauseScale');
type WithScale = { [SCALE]?: number };

/**
 * Registers (or, with `undefined`, removes) how many times longer casbridge's own waits last. The
 * benchmark's `--time-scale K` slows the modelled AWS K times, and a wait sized to one of AWS's
 * rates (CloudTrail's one write per second) must slow with it, as the SDK's backoff does
 * (commons/runtime.ts useClientRetryStrategy). Unregistered (in Lambda, in tests): as written.
 */
export function usePauseScale(k: number | undefined): void {
  (globalThis as WithScale)[SCALE] = k;
}

/** Waits `ms` (times the registered scale). */
export function pause(ms: number): Promise<void> {
  const scaled = ms * ((globalThis as WithScale)[SCALE] ?? 1);
  return new Promise((resolve) => setTimeout(resolve, scaled));
}

/**
 * CloudTrail allows one mutating call per second per account and Region. Two writes back to back
 * (CreateTrail then StartLogging) would be throttled and retried by the SDK with backoff; waiting
 * the second out costs the same time without the throttling (about 1.7 throttled calls per
 * onboarded account in the benchmark before this wait).
 */
const CLOUDTRAIL_WRITE_SPACING_MS = 1_000;

/** Waits out CloudTrail's write rate between two writes to one account's trails. */
export function spaceCloudTrailWrites(): Promise<void> {
  return pause(CLOUDTRAIL_WRITE_SPACING_MS);
}
