import type { Logger } from "@pulse/config";
import { consumerName, feeds, pipelineBehindJudge, type Feed } from "@pulse/contracts";
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
  // The rule the gateway and the CLI judge by too (contracts' pipeline-behind.ts).
  const judge = pipelineBehindJudge({ behindPending: o.behindPending, stallMs: o.stallMs });

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
        if (judge(feed, { pending: info.num_pending, deliveredSeq: info.delivered.stream_seq }, now)) next.add(feed);
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
