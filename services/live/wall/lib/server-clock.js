/**
 * The server's time as the wall knows it: the last heartbeat's `now`, moved on by the monotonic
 * time elapsed since it arrived. The browser's own clock (Date.now) is never read: a kiosk with a
 * wrong clock must not age a figure or show the wrong date. Before the first heartbeat the time
 * is unknown (null), and the screen says so rather than guessing.
 */
export class ServerClock {
  /** @param {() => number} monotonic milliseconds, e.g. `() => performance.now()` */
  constructor(monotonic) {
    this.monotonic = monotonic;
    /** @type {number|null} */
    this.serverMs = null;
    this.atMonotonic = 0;
  }

  /**
   * A heartbeat's `now` (ISO 8601). Ignored when it does not parse.
   * @param {string} iso
   */
  set(iso) {
    const ms = Date.parse(iso);
    if (!Number.isFinite(ms)) return;
    this.serverMs = ms;
    this.atMonotonic = this.monotonic();
  }

  /** The server's time now, epoch ms, or null before the first heartbeat. */
  now() {
    return this.serverMs === null ? null : this.serverMs + (this.monotonic() - this.atMonotonic);
  }
}
