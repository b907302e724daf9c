import type { Logger } from "@pulse/config";
import type { Db } from "@pulse/db";
import { sql } from "@pulse/db";

/**
 * Whether the database answers. When a worker meets a connection error it calls `down()`; one
 * probe loop then runs for all workers, and `up()` resolves when a probe succeeds. While down,
 * workers stop pulling and hold what they have (see Puller).
 */
export class DbGate {
  private waiting: Promise<void> | null = null;
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

  /** Marks the database unreachable (idempotent) and returns when it answers again. */
  down(err: unknown): Promise<void> {
    if (!this.waiting) {
      this.downSince = Date.now();
      this.onChange(false);
      this.log.warn("database unreachable: pulling paused, held messages kept alive, probing", { error: String((err as Error)?.message ?? err), probe_ms: this.probeMs });
      this.waiting = this.probeLoop();
    }
    return this.waiting;
  }

  close(): void {
    this.closed = true;
  }

  private async probeLoop(): Promise<void> {
    for (;;) {
      await new Promise((r) => setTimeout(r, this.probeMs));
      if (this.closed) break;
      try {
        await sql`SELECT 1`.execute(this.db.db);
        break;
      } catch {
        /* still down */
      }
    }
    this.log.info("database reachable again: resuming", { down_s: Math.round(this.downForSeconds * 10) / 10 });
    this.waiting = null;
    this.downSince = null;
    this.onChange(true);
  }
}
