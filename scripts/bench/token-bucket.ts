/**
 * A token bucket on a clock the caller passes in (milliseconds), so that the model's arithmetic
 * is testable without waiting. Two ways to meet an empty bucket, as AWS has both:
 * - `tryTake`: refused (Lambda's scaling rule answers 429, the caller retries);
 * - `reserve`: queued (Step Functions delays a throttled state transition or child execution
 *   rather than failing it): the bucket may go into debt, and each caller is told how long to wait
 *   for its token, in the order they asked.
 */
export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    nowMs: number,
  ) {
    if (!(perSecond > 0) || !(burst >= 1))
      throw new RangeError('a bucket needs a positive rate and a burst ≥ 1');
    this.tokens = burst;
    this.updatedMs = nowMs;
  }

  /** Tokens in the bucket at `nowMs` (negative: owed to callers already queued). */
  level(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  /** Takes a token if there is one; false (and nothing taken) if the bucket is empty. */
  tryTake(nowMs: number): boolean {
    this.refill(nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Takes `n` tokens, in debt if need be; the milliseconds until the last of them is there. */
  reserve(nowMs: number, n = 1): number {
    this.refill(nowMs);
    this.tokens -= n;
    return this.waitMs(nowMs);
  }

  /** Milliseconds from `nowMs` until the bucket is out of debt (0 when it is not in debt). */
  waitMs(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens >= 0 ? 0 : (-this.tokens / this.perSecond) * 1000;
  }

  private refill(nowMs: number): void {
    if (nowMs > this.updatedMs) {
      this.tokens = Math.min(this.burst, this.tokens + ((nowMs - this.updatedMs) / 1000) * this.perSecond);
      this.updatedMs = nowMs;
    }
  }
}

/**
 * The least time `calls` calls take through a bucket that starts full: the burst at once, the rest
 * at the rate. What the ideal bound charges each rate-limited resource.
 */
export function bucketDrainMs(calls: number, perSecond: number, burst: number): number {
  return (Math.max(0, calls - burst) / perSecond) * 1000;
}
