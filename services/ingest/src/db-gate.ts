import type { Logger } from "@pulse/config";
import type { Db } from "@pulse/db";
import { sql } from "@pulse/db";

/**
 * Whether the database answers. When a worker meets a connection error it calls `down()`; one
 * probe loop then runs for all workers, and the promise `down()` returned resolves when a probe
 * succeeds. While down, workers stop pulling and hold what they have (see Puller).
 *
 * `close()` releases every waiter at once: shutdown during an outage must not wait for the
 * database to come back (the held messages are simply redelivered later).
 */
export class DbGate {
  private waiting: Promise<void> | null = null;
  /** Resolves `waiting`: on a successful probe or on close. */
  private release: (() => void) | null = null;
  /** Cuts the probe loop's sleep short on close. */
  private wakeProbe: (() => void) | null = null;
  private downSince: number | null = null;
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly probeMs: number,
    private readonly log: Logger,
    private readonly onChange: (up: boolean) => void,
  ) {}

  get isUp(): boolean {
    return this.waiting === null;
  }

  /** Seconds the database has been unreachable (0 while up). */
  get downForSeconds(): number {
    return this.downSince === null ? 0 : (Date.now() - this.downSince) / 1000;
  }

  /**
   * Marks the database unreachable (idempotent) and returns when it answers again, or at once
   * when the gate is closed. After it returns the caller checks whether it is shutting down.
   */
  down(err: unknown): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (!this.waiting) {
      this.downSince = Date.now();
      this.onChange(false);
      this.log.warn("database unreachable: pulling paused, held messages kept alive, probing", {
        error: String((err as Error)?.message ?? err),
        probe_ms: this.probeMs,
      });
      this.waiting = new Promise<void>((resolve) => (this.release = resolve));
      void this.probeLoop();
    }
    return this.waiting;
  }

  /** Stops probing and releases every waiter now. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wakeProbe?.();
    this.release?.();
    this.release = null;
  }

  private async probeLoop(): Promise<void> {
    while (!this.closed) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.probeMs);
        this.wakeProbe = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeProbe = null;
      if (this.closed) return; // close() already released the waiters; the database is still down
      try {
        await sql`SELECT 1`.execute(this.db.db);
      } catch {
        continue; // still down
      }
      if (this.closed) return;
      this.log.info("database reachable again: resuming", { down_s: Math.round(this.downForSeconds * 10) / 10 });
      this.waiting = null;
      this.downSince = null;
      this.onChange(true);
      this.release?.();
      this.release = null;
      return;
    }
  }
}
