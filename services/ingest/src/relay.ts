import type { Logger } from "@pulse/config";
import { changeIdHeader, subjects, type LiveChange, type LiveMetric } from "@pulse/contracts";
import { advanceRelayCursor, changesToRelay, pruneChanges, readRelayCursor, type Db } from "@pulse/db";
import { headers, jetstream, withPrefix, type NatsConnection, type StreamNames } from "@pulse/nats";
import type { IngestMetrics } from "./ingest-metrics";

export interface RelayOptions {
  nc: NatsConnection;
  db: Db;
  names: StreamNames;
  metrics: IngestMetrics;
  log: Logger;
  /** Rows per read. Default 500. */
  chunk?: number;
  /** Poll interval when nothing wakes it, ms. Default 250. */
  pollMs?: number;
  /** Relayed change rows are deleted after this long, ms. Default 1 hour. */
  keepMs?: number;
}

const cursorName = "live";

/**
 * Publishes change-log rows, in id order, to the LIVE stream with Msg-Id = change id. The cursor
 * lives in Postgres and only moves forward; if two relays (two ingest processes) publish the same
 * row, JetStream's duplicate window keeps one, and each relay publishes in order, so LIVE's
 * sequence follows change ids.
 */
export class Relay {
  private readonly o: Required<RelayOptions>;
  private readonly js;
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private poked = false;
  private cursor = 0;
  private lastPrune = 0;

  constructor(options: RelayOptions) {
    this.o = { chunk: 500, pollMs: 250, keepMs: 3_600_000, ...options };
    this.js = jetstream(options.nc);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Something was committed: look now rather than at the next poll. */
  poke(): void {
    this.poked = true;
    this.wake?.();
  }

  /** Publishes what is committed, then stops. */
  async close(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Highest change id published. */
  get published(): number {
    return this.cursor;
  }

  private async run(): Promise<void> {
    let ready = false;
    while (this.running || this.poked) {
      this.poked = false;
      try {
        if (!ready) {
          this.cursor = await readRelayCursor(this.o.db.db, cursorName);
          ready = true;
        }
        const n = await this.pass();
        if (n === this.o.chunk) continue;
        await this.maintain();
      } catch (err) {
        // A database or a NATS failure alike: the cursor holds, the pass is retried.
        this.o.log.warn("relay pass failed; retrying", { error: String((err as Error)?.message ?? err) });
        ready = false; // re-read the cursor: another relay may have moved it
        await this.sleep(1_000);
        continue;
      }
      if (!this.running) break;
      await this.sleep(this.o.pollMs);
    }
  }

  /**
   * Publishes one chunk; returns how many rows it read. One row at a time, each after the
   * previous one's ack: with several in flight, a later row could be stored while an earlier one
   * failed, and the retry would then put the earlier one after it in LIVE. On a failure the
   * cursor moves to the last row acknowledged and the error is thrown (the pass is retried).
   */
  private async pass(): Promise<number> {
    // Another relay may be ahead: never republish what it already did (LIVE's duplicate window
    // is short, so a relay that stalled for longer would put old rows after newer ones). Its lag
    // and pruning follow the same cursor.
    const { after, rows, last: newest } = await changesToRelay(this.o.db.db, cursorName, this.cursor, this.o.chunk);
    this.cursor = after;
    // Committed and not yet published, as of this read: set on every pass, a backlog included.
    this.o.metrics.relayLag.set(Math.max(0, newest - this.cursor));
    if (rows.length === 0) return 0;
    let acked = 0;
    let failure: { error: unknown } | null = null;
    for (const row of rows) {
      // A LiveChange, written around the stored entries text rather than parsed and re-encoded.
      const head: Omit<LiveChange, "entries"> = { change_id: row.id, metric: row.metric as LiveMetric, at: row.created_at.toISOString() };
      const body = `${JSON.stringify(head).slice(0, -1)},"entries":${row.entries}}`;
      const h = headers();
      h.set(changeIdHeader, String(row.id));
      try {
        await this.js.publish(withPrefix(this.o.names, subjects.live(row.metric)), body, { msgID: String(row.id), headers: h });
      } catch (error) {
        failure = { error };
        break;
      }
      acked += 1;
    }
    if (acked > 0) {
      const last = rows[acked - 1]!.id;
      await advanceRelayCursor(this.o.db.db, cursorName, last);
      this.cursor = last;
      this.o.metrics.relayed.inc(acked);
      this.o.metrics.relayLag.set(Math.max(0, newest - this.cursor));
    }
    if (failure) throw failure.error;
    return rows.length;
  }

  private async maintain(): Promise<void> {
    if (Date.now() - this.lastPrune > 60_000) {
      this.lastPrune = Date.now();
      await pruneChanges(this.o.db.db, this.cursor, this.o.keepMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.poked || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}
