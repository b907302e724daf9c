/**
 * Test harness for ingest: a fresh database and fresh stream names per test file, a publisher,
 * the rejects a producer would hear, and a snapshot of every figure for exact comparisons.
 * Test-only; not exported from mod.ts.
 */
import { feeds, msgId, parseOffsetTime, type Feed, type FeedEvent } from "@pulse/contracts";
import { createDb, inFeedTransaction, sql, type Db } from "@pulse/db";
import {
  allStreams,
  connectNats,
  unsettledTotal,
  ensureStreams,
  headers,
  jetstream,
  jetstreamManager,
  testStreamNames,
  withPrefix,
  type NatsConnection,
  type StreamNames,
} from "@pulse/nats";
import { createTestDatabase, sharedNatsUrl, uniqueTag } from "@pulse/testkit";
import { applyBatch } from "./apply-batch";
import { loadConfig, type IngestConfig } from "./config";
import { startIngest, type Ingest } from "./ingest";

export interface HarnessOptions {
  natsUrl?: string;
  /** Database URL ingest uses (e.g. through a TCP proxy); the harness queries the direct one. */
  ingestDbUrl?: (directUrl: string) => string;
  config?: Partial<IngestConfig>;
  /** Start ingest at once. Default true. */
  start?: boolean;
}

export type Envelope = {
  v?: number;
  id: string;
  source?: string;
  ts?: string;
  area?: string;
  revision?: number;
  data: Record<string, unknown>;
};

export async function ingestHarness(tag: string, options: HarnessOptions = {}) {
  const t = uniqueTag(tag);
  const database = await createTestDatabase(t);
  const names: StreamNames = testStreamNames(t);
  const natsUrl = options.natsUrl ?? sharedNatsUrl();
  const config = loadConfig(
    {
      DATABASE_URL: options.ingestDbUrl ? options.ingestDbUrl(database.url) : database.url,
      INGEST_PORT: "0",
      LOG_LEVEL: "error",
      NATS_URL: natsUrl,
    },
    { names, probeMs: 200, ...options.config },
  );
  const nc: NatsConnection = await connectNats(natsUrl, `test-${t}`);
  await ensureStreams(nc, { names, maxDeliver: config.maxDeliver, ackWaitMs: config.ackWaitMs });
  const js = jetstream(nc);
  const db: Db = createDb({ url: database.url, poolMax: 2 });
  const rejects: { subject: string; body: Record<string, unknown> }[] = [];
  nc.subscribe(`${names.rejectsPrefix}.>`, { callback: (_e, m) => void rejects.push({ subject: m.subject, body: m.json() }) });

  let ingest: Ingest | null = options.start === false ? null : await startIngest(config);

  const h = {
    names,
    config,
    nc,
    js,
    db,
    database,
    rejects,
    get ingest() {
      return ingest;
    },
    async startIngest(overrides: Partial<IngestConfig> = {}) {
      ingest = await startIngest({ ...config, ...overrides });
      return ingest;
    },
    async stopIngest() {
      await ingest?.close();
      ingest = null;
    },
    subject: (feed: string, source: string) => withPrefix(names, `feeds.${feed}.${source}`),
    /** Publishes an envelope (source defaults to the subject's); sets Nats-Msg-Id unless `msgId: false`. */
    async publish(feed: Feed | string, source: string, env: Envelope | string | Uint8Array, opts: { msgId?: boolean } = {}) {
      const body =
        typeof env === "string" || env instanceof Uint8Array
          ? env
          : JSON.stringify({ v: 1, source, ts: "2026-11-26T09:15:00+07:00", area: "16681", ...env });
      const h = headers();
      if (opts.msgId !== false && typeof env === "object" && !(env instanceof Uint8Array))
        h.set("Nats-Msg-Id", msgId(env.source ?? source, env.id, env.revision ?? 0));
      return js.publish(this.subject(feed, source), body, { headers: h });
    },
    /** Waits until every feed consumer has nothing pending or unacknowledged, and the relay caught up. */
    async settle(timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const busy = await unsettledTotal(nc, names);
        if (busy === 0) {
          const r = await sql<{
            n: number;
          }>`SELECT (SELECT coalesce(max(id), 0) FROM changes) - (SELECT coalesce(max(last_id), 0) FROM relay_cursor) AS n`.execute(db.db);
          if ((r.rows[0]?.n ?? 0) <= 0) return;
        }
        if (Date.now() > until) throw new Error(`not settled after ${timeoutMs} ms (${busy} messages pending)`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    /** Every figure Pulse holds, in a stable order, for exact comparisons. */
    async figures() {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const q = async (text: string) => (await sql.raw<Record<string, any>>(text).execute(db.db)).rows;
      return {
        subscribers: await q(`SELECT source, service, area, count FROM subscriber_gauges ORDER BY 1, 2, 3`),
        stations: await q(`SELECT source, station, tech, area, status FROM bts_stations ORDER BY 1, 2`),
        esign: await q(
          `SELECT grain, bucket, source, agency, area, signed, signer, count FROM esign_counts WHERE count <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7`,
        ),
        egov: await q(
          `SELECT grain, bucket, source, agency, level, channel, status, area, count FROM egov_counts WHERE count <> 0 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8`,
        ),
        feeds: await q(`SELECT source, feed, events FROM feed_status ORDER BY 1, 2`),
        deadLetters: await q(`SELECT reason, count(*)::int AS n FROM dead_letters GROUP BY 1 ORDER BY 1`),
      };
    },
    /**
     * Stores records through ingest's own aggregation but without its decoder, as an ingest of
     * before the map of 2025 would have (districts' codes dated after 2025-07-01): the rows the
     * old simulator left in every demo and test database. One batch per feed; ts with an offset.
     */
    async storeUndecoded(feed: Feed, source: string, envs: readonly Envelope[]) {
      let seq = 1_000_000 + Math.floor(Math.random() * 1_000_000);
      const items = envs.map((e) => {
        const ts = e.ts ?? "2026-11-26T09:15:00+07:00";
        const event = {
          feed,
          source,
          id: e.id,
          revision: e.revision ?? 0,
          ts,
          tsMs: parseOffsetTime(ts)!,
          area: e.area ?? "16681",
          data: e.data,
        };
        return {
          subject: `feeds.${feed}.${source}`,
          stream: `${names.feeds}_${feed.toUpperCase()}`,
          streamSeq: seq++,
          receivedMs: Date.now(),
          payload: new TextEncoder().encode(JSON.stringify({ v: 1, source, ...e })),
          event: event as unknown as FeedEvent,
          reject: null,
        };
      });
      return inFeedTransaction(db, feeds.indexOf(feed), (trx) => applyBatch(trx, items));
    },
    async count(table: string, where = "true"): Promise<number> {
      const r = await sql.raw<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`).execute(db.db);
      return r.rows[0]!.n;
    },
    async close() {
      await ingest?.close();
      const jsm = await jetstreamManager(nc);
      for (const s of allStreams(names)) await jsm.streams.delete(s).catch(() => {});
      await nc.close();
      await db.close();
      await database.drop();
    },
  };
  return h;
}

export type Harness = Awaited<ReturnType<typeof ingestHarness>>;

/**
 * Envelope builders for the four feeds, dated (by `publish`) after the 2025-07-01 cut-over: a
 * commune (16681 Phường Thành Vinh, former district 412) and agencies in force then.
 */
export const make = {
  subscribers: (id: string, service: string, count: number, extra: Partial<Envelope> = {}): Envelope => ({
    id,
    area: "16681",
    data: { service, count },
    ...extra,
  }),
  bts: (id: string, station: string, status: string, extra: Partial<Envelope> & { tech?: string } = {}): Envelope => {
    const { tech = "4G", ...rest } = extra;
    return { id, area: "16681", data: { station, tech, status }, ...rest };
  },
  esign: (id: string, signed: boolean, extra: Partial<Envelope> & { agency?: string } = {}): Envelope => {
    const { agency = "so-khcn", ...rest } = extra;
    return { id, area: "40", data: { agency, doc: `doc-${id}`, signed, signer: "organization" }, ...rest };
  },
  egov: (id: string, status: string, extra: Partial<Envelope> & { channel?: string } = {}): Envelope => {
    const { channel = "online_full", ...rest } = extra;
    return { id, area: "16681", data: { procedure: "cap-giay-phep", agency: "ubnd-xa", level: "commune", channel, status }, ...rest };
  },
};
