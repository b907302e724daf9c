import type { Logger } from "@pulse/config";
import { consumerName, feeds, type Feed } from "@pulse/contracts";
import { connectNats, feedStream, jetstreamManager, type ConnectNatsOptions, type NatsConnection, type StreamNames } from "@pulse/nats";

export interface PipelineWatchOptions {
  natsUrl: string | undefined;
  /** The exporter's NATS user. Default none. */
  natsAuth?: ConnectNatsOptions;
  names: StreamNames;
  /** Undelivered messages that mean ingest is behind. */
  behindPending: number;
  /** How long pending messages may sit with the delivered sequence unmoved. */
  stallMs: number;
  /** Poll interval. Default 2,000 ms. */
  intervalMs?: number;
  log: Logger;
  clock: () => number;
}

export interface PipelineWatch {
  /** Feeds whose consumer is behind, as of the last poll. */
  behind(): ReadonlySet<Feed>;
  /** True when the last poll reached NATS. */
  up(): boolean;
  /** Polls once now (tests; start() polls on a timer). */
  poll(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Tells whether ingest keeps up, per feed, from the durable consumers' info: a backlog above
 * `behindPending`, or pending messages while the delivered sequence has not moved for `stallMs`
 * (ingest down, or paused on an unreachable database). Then a silent feed is the pipeline's
 * fault, not the producer's. Without NATS the watch reports nothing behind and `up() === false`.
 */
export function createPipelineWatch(o: PipelineWatchOptions): PipelineWatch {
  let nc: NatsConnection | null = null;
  let connecting: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let isUp = false;
  let behind: ReadonlySet<Feed> = new Set();
  let closed = false;
  // Per feed: the delivered stream sequence last seen, and since when it has not moved.
  const progress = new Map<Feed, { seq: number; since: number }>();

  const connect = async () => {
    if (nc || !o.natsUrl || closed) return;
    connecting ??= connectNats(o.natsUrl, "pulse-exporter", { ...o.natsAuth, log: o.log })
      .then((c) => {
        if (closed) void c.close();
        else nc = c;
      })
      .catch((err) => o.log.warn("NATS unreachable; pipeline_behind cannot be told until it answers", { error: (err as Error).message }))
      .finally(() => (connecting = null));
    await connecting;
  };

  const poll = async () => {
    await connect();
    if (!nc) {
      isUp = false;
      behind = new Set();
      return;
    }
    try {
      const jsm = await jetstreamManager(nc, { timeout: 2_000 });
      const now = o.clock();
      const next = new Set<Feed>();
      for (const feed of feeds) {
        let info;
        try {
          info = await jsm.consumers.info(feedStream(o.names, feed), consumerName(feed, o.names.consumerPrefix));
        } catch (err) {
          // No consumer yet (ingest never started on this stream): nothing to be behind on.
          if (/not found/i.test((err as Error).message)) continue;
          throw err;
        }
        const seq = info.delivered.stream_seq;
        const p = progress.get(feed);
        if (!p || p.seq !== seq || info.num_pending === 0) progress.set(feed, { seq, since: now });
        const stalled = info.num_pending > 0 && p !== undefined && p.seq === seq && now - p.since >= o.stallMs;
        if (info.num_pending >= o.behindPending || stalled) next.add(feed);
      }
      behind = next;
      isUp = true;
    } catch (err) {
      isUp = false;
      o.log.warn("could not read the feed consumers from NATS", { error: (err as Error).message });
    }
  };

  return {
    behind: () => behind,
    up: () => isUp,
    poll,
    async start() {
      if (!o.natsUrl) return;
      await poll();
      const every = o.intervalMs ?? 2_000;
      const loop = () => {
        timer = setTimeout(() => void poll().finally(() => !closed && loop()), every);
        timer.unref();
      };
      loop();
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await connecting;
      if (nc) await nc.close().catch(() => {});
      nc = null;
    },
  };
}
