/**
 * The sandbox's notion of time. Tests advance it instead of sleeping, so "role not assumable for
 * 30 s" or "key older than 90 days" take no wall time.
 */
export class Clock {
  private offsetMs = 0;

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  now(): Date {
    return new Date(this.nowMs());
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }
}
