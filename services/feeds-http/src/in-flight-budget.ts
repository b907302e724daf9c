/**
 * A process-wide bound on the lines (and their payload bytes) published and awaiting ingest's
 * verdict, shared by every request in the order they asked. Each request also keeps its own
 * window (FEEDS_HTTP_IN_FLIGHT); this one is what keeps 50 concurrent uploads from holding 50
 * windows at once: a request that cannot take its next group stops reading its body, so the
 * sender waits on TCP.
 *
 * Holders never need more budget to give theirs back (a group settles, or times out, on its own),
 * so waiting here cannot deadlock. A group larger than the whole bound goes alone once all is free.
 */
export class InFlightBudget {
  private lines = 0;
  private bytes = 0;
  private readonly queue: { lines: number; bytes: number; go: () => void }[] = [];

  constructor(
    readonly maxLines: number,
    readonly maxBytes: number,
  ) {}

  /** Lines held now, across requests. */
  get held(): number {
    return this.lines;
  }

  /** Resolves once `lines` and `bytes` are granted; first come, first served. */
  take(lines: number, bytes: number): Promise<void> {
    if (this.queue.length === 0 && this.fits(lines, bytes)) {
      this.grant(lines, bytes);
      return Promise.resolve();
    }
    return new Promise<void>((go) => this.queue.push({ lines, bytes, go }));
  }

  /** Returns what `take` granted. */
  give(lines: number, bytes: number): void {
    this.lines -= lines;
    this.bytes -= bytes;
    while (this.queue.length > 0 && this.fits(this.queue[0]!.lines, this.queue[0]!.bytes)) {
      const w = this.queue.shift()!;
      this.grant(w.lines, w.bytes);
      w.go();
    }
  }

  private fits(lines: number, bytes: number): boolean {
    return (this.lines === 0 && this.bytes === 0) || (this.lines + lines <= this.maxLines && this.bytes + bytes <= this.maxBytes);
  }

  private grant(lines: number, bytes: number): void {
    this.lines += lines;
    this.bytes += bytes;
  }
}
