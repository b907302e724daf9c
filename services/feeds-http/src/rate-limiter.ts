/**
 * Lines per second per source: a bucket holding one second's worth, refilled continuously. A
 * request is let in while the bucket is not empty and takes its lines as it reads them, so one
 * large request may leave the bucket in debt: the next request of that source waits (429 with
 * Retry-After) until the debt is paid. A request is never cut in the middle for the rate.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perSecond: number) {}

  private bucket(source: string, now: number) {
    let b = this.buckets.get(source);
    if (!b) {
      b = { tokens: this.perSecond, at: now };
      this.buckets.set(source, b);
    }
    b.tokens = Math.min(this.perSecond, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    return b;
  }

  /** Seconds to wait before `source` may send again; 0 when it may now. */
  retryAfter(source: string, now = Date.now()): number {
    const b = this.bucket(source, now);
    return b.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }

  /** Counts `lines` against `source`. */
  take(source: string, lines: number, now = Date.now()): void {
    this.bucket(source, now).tokens -= lines;
  }
}
