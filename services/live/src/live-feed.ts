import type { Logger } from "@pulse/config";
import type { LiveChange } from "@pulse/contracts";
import type { Db } from "@pulse/db";
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type NatsConnection, type StreamNames } from "@pulse/nats";
import type { LiveState, RingItem } from "./live-state";
import { readState, type StateReadOptions } from "./sql/read-state";

export interface LiveFeedOptions {
  nc: NatsConnection;
  db: Db;
  names: StreamNames;
  state: LiveState;
  log: Logger;
  /** The day and minute windows of the read. */
  window: () => StateReadOptions;
  /** A batch of LIVE messages was applied. */
  onApplied: () => void;
  /** The state was (re)loaded from Postgres: every client must get a fresh snapshot. */
  onLoaded: (reason: "start" | "gap") => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** First and last sequence LIVE holds; `first > last` when it is empty. */
export interface StreamBounds {
  first: number;
  last: number;
}

/**
 * Keeps the state in step with LIVE. Start: the stream's last sequence L is read first, then
 * Postgres (as of change C, which covers every message up to L, since the relay publishes only
 * what has committed), then an ordered consumer from L + 1. Sequences must follow one another:
 * a jump (the stream dropped messages this gateway never saw, e.g. while NATS was away for
 * longer than LIVE's retention) cannot be proven complete, so the state is read again and every
 * client gets a reset snapshot.
 */
export class LiveFeed {
  private running = false;
  private loop: Promise<void> | null = null;
  private messages: ConsumerMessages | null = null;
  private loadedOnce = false;
  /** True once the state has been read. */
  ready = false;
  /** Last error met (for heartbeats and /healthz). */
  lastError: string | null = null;
  private logged: string | null = null;

  constructor(private readonly o: LiveFeedOptions) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Resolves once the state has been read (true), or after `timeoutMs` (false). */
  async waitReady(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (!this.ready && this.running && Date.now() < until) await sleep(20);
    return this.ready;
  }

  async close(): Promise<void> {
    this.running = false;
    await this.messages?.close().catch(() => {});
    await this.loop;
  }

  async bounds(): Promise<StreamBounds> {
    const jsm = await jetstreamManager(this.o.nc, { checkAPI: false, timeout: 2_000 });
    const info = await jsm.streams.info(this.o.names.live);
    return { first: info.state.first_seq, last: info.state.last_seq };
  }

  private async load(reason: "start" | "gap"): Promise<void> {
    const { last } = await this.bounds();
    const read = await readState(this.o.db.db, this.o.window());
    this.o.state.load(read.entries, read.changeId, last);
    this.ready = true;
    this.loadedOnce = true;
    this.o.log.info("state read from Postgres", { reason, changeId: read.changeId, seq: last, keys: this.o.state.entries.size });
    this.o.onLoaded(reason);
  }

  private async run(): Promise<void> {
    let needLoad = true;
    while (this.running) {
      try {
        if (needLoad) {
          await this.load(this.loadedOnce ? "gap" : "start");
          needLoad = false;
        }
        const gap = await this.follow();
        if (gap) needLoad = true;
        this.lastError = null;
        this.logged = null;
      } catch (err) {
        if (!this.running) break;
        this.lastError = (err as Error)?.message ?? String(err);
        if (/stream not found/i.test(this.lastError))
          this.lastError = `stream ${this.o.names.live} not found: ingest creates it (start ingest, or check PULSE_NAMESPACE)`;
        // Once per kind of failure, not once a second while it lasts.
        if (this.lastError !== this.logged) this.o.log.warn("LIVE follower failed; retrying every second", { error: this.lastError });
        this.logged = this.lastError;
        await sleep(1_000);
      }
    }
  }

  /** Consumes LIVE from the state's sequence on; resolves true on a gap. */
  private async follow(): Promise<boolean> {
    const state = this.o.state;
    const js = jetstream(this.o.nc);
    const consumer = await js.consumers.get(this.o.names.live, {
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: state.seq + 1,
    });
    // In messages, not bytes: in bytes mode nats.js refills by the bytes consumed, so after small
    // messages a request is too small for the next large one; the server answers 409 and nats.js,
    // its buffer empty, waits two missed heartbeats (5 s) before asking again
    // (test/regressions/live-follow-no-stall.test.ts). 256 relay rows (at most 256 KB each) bound
    // what waits here.
    const messages = await consumer.consume({ max_messages: 256, expires: 5_000 });
    this.messages = messages;
    // close() may have run while the consumer was being made: it could not stop this one.
    if (!this.running) await messages.close().catch(() => {});
    try {
      let pending = 0;
      for await (const m of messages) {
        if (!this.running) break;
        if (m.seq <= state.seq) continue;
        if (m.seq !== state.seq + 1) {
          this.o.log.warn("gap in LIVE: reading the state again", { expected: state.seq + 1, got: m.seq });
          return true;
        }
        let change: LiveChange;
        try {
          change = m.json<LiveChange>();
        } catch {
          // Not ours to judge: the relay writes every body; count it as seen and go on.
          this.o.log.error("unreadable LIVE message", { seq: m.seq });
          state.seq = m.seq;
          continue;
        }
        state.apply(change, m.seq, m.data.length);
        // Tell the gateway once per burst, not once per message.
        if (++pending >= 256 || m.info.pending === 0) {
          pending = 0;
          this.o.onApplied();
        }
      }
      return false;
    } finally {
      this.messages = null;
      await messages.close().catch(() => {});
    }
  }

  /**
   * LIVE messages with sequence in (after, upTo], read from the stream (for a `since` older than
   * the ring). Null when the stream no longer holds all of them.
   */
  async read(after: number, upTo: number, timeoutMs = 5_000): Promise<RingItem[] | null> {
    if (upTo <= after) return [];
    const { first } = await this.bounds();
    if (after + 1 < first) return null;
    const js = jetstream(this.o.nc);
    const consumer = await js.consumers.get(this.o.names.live, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 });
    const out: RingItem[] = [];
    let expect = after + 1;
    const until = Date.now() + timeoutMs;
    while (expect <= upTo) {
      if (Date.now() > until) throw new Error(`reading LIVE ${after + 1}..${upTo} took longer than ${timeoutMs} ms`);
      const batch = await consumer.fetch({ max_messages: Math.min(500, upTo - expect + 1), expires: 2_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        if (m.seq !== expect) return null; // a hole: messages aged out meanwhile
        out.push({ seq: m.seq, change: m.json<LiveChange>(), bytes: m.data.length });
        expect++;
        if (expect > upTo) break;
      }
      if (got === 0) return null;
    }
    return out;
  }
}
