/**
 * Postgres itself restarted under steady load, twice: a fast shutdown (the server terminates
 * every session) and an immediate one (a crash: WAL recovery on start), each down for a few
 * seconds. Ingest, the exporter and a live gateway run against a private cluster and recover with
 * nobody's help; nothing is lost or doubled. (fault-database-cut cuts the road with a TCP proxy;
 * here the server goes away and comes back.)
 */
import { msgId } from "@pulse/contracts";
import { createDb, sql, type Db } from "@pulse/db";
import { loadConfig as exporterConfig, startExporter, type Exporter } from "@pulse/exporter";
import { loadConfig as ingestConfig, startIngest, type Ingest } from "@pulse/ingest";
import { loadConfig as liveConfig, startLive, type Live } from "@pulse/live";
import { allLogTopics, clientValues, LiveClient, postgresValues } from "@pulse/live/testing";
import {
  allStreams,
  connectNats,
  ensureStreams,
  headers,
  jetstream,
  jetstreamManager,
  testStreamNames,
  unsettledTotal,
  withPrefix,
  type NatsConnection,
} from "@pulse/nats";
import { createTestDatabase, sharedNatsUrl, uniqueTag, type TestDatabase } from "@pulse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventMix } from "./support/event-mix";
import { mixFigures } from "./support/mix-figures";
import { startPrivatePostgres, type PrivatePostgres } from "./support/private-postgres";

const tag = uniqueTag("pgrestart");
const names = testStreamNames(tag);
let pg: PrivatePostgres;
let database: TestDatabase;
let db: Db;
let nc: NatsConnection;
let ingest: Ingest;
let exporter: Exporter;
let live: Live;
let client: LiveClient;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  database = await createTestDatabase(tag, { adminUrl: pg.url });
  db = createDb({ url: database.url, poolMax: 2 });
  nc = await connectNats(sharedNatsUrl(), `test-${tag}`);
  await ensureStreams(nc, { names, ackWaitMs: 4_000 });
  ingest = await startIngest(
    ingestConfig(
      { DATABASE_URL: database.url, NATS_URL: sharedNatsUrl(), INGEST_PORT: "0", LOG_LEVEL: "silent" },
      { names, probeMs: 200, ackWaitMs: 4_000 },
    ),
  );
  exporter = await startExporter(
    exporterConfig({ DATABASE_URL: database.url, METRICS_PORT: "0", NATS_URL: "none", EXPORTER_CACHE_MS: "0", LOG_LEVEL: "silent" }),
  );
  live = await startLive(
    liveConfig(
      { DATABASE_URL: database.url, NATS_URL: sharedNatsUrl(), LIVE_PORT: "0", LIVE_ADMIN_PORT: "0", LOG_LEVEL: "silent" },
      { names },
    ),
  );
  client = LiveClient.connect(`ws://127.0.0.1:${live.port}/live`);
  await client.opened;
  client.subscribe("all", allLogTopics);
  await client.next((f) => f.type === "snapshot");
}, 90_000);

afterAll(async () => {
  await client?.close().catch(() => {});
  await live?.close().catch(() => {});
  await exporter?.close().catch(() => {});
  await ingest?.close().catch(() => {});
  if (nc) {
    const jsm = await jetstreamManager(nc);
    for (const s of allStreams(names)) await jsm.streams.delete(s).catch(() => {});
    await nc.close();
  }
  await db?.close().catch(() => {});
  await pg?.destroy();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const metric = async (name: string) => {
  const text = await (await fetch(`http://127.0.0.1:${exporter.port}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith(name));
};

it("ingest, the exporter and a gateway ride out two Postgres restarts under steady load, exact", async () => {
  const { events, expected } = eventMix(12_000, 23);
  const unique = new Set(events.map((e) => `${e.source}:${e.env.id}`)).size;
  const js = jetstream(nc);
  let sent = 0;
  let stop = false;
  // Steady load: 100 events every 50 ms (about 2,000/s) until every one is sent, whatever Postgres does.
  const load = (async () => {
    while (sent < events.length && !stop) {
      await Promise.all(
        events.slice(sent, sent + 100).map((e) => {
          const h = headers();
          h.set("Nats-Msg-Id", msgId(e.source, e.env.id, e.env.revision ?? 0));
          const body = JSON.stringify({ v: 1, source: e.source, ts: "2026-11-26T09:15:00+07:00", area: "16681", ...e.env });
          return js.publish(withPrefix(names, `feeds.${e.feed}.${e.source}`), body, { headers: h });
        }),
      );
      sent = Math.min(events.length, sent + 100);
      await sleep(50);
    }
  })();

  const outage = async (mode: "fast" | "immediate") => {
    while (sent < events.length * (mode === "fast" ? 0.25 : 0.6)) await sleep(20);
    await pg.stop(mode);
    const downAt = Date.now();
    const seen = { ingestDown: false, exporterDown: false };
    while (Date.now() - downAt < 4_000) {
      if (!ingest.health().ok) seen.ingestDown = true;
      if ((await metric("pulse_exporter_db_up")).some((l) => l.endsWith(" 0"))) seen.exporterDown = true;
      await sleep(200);
    }
    await pg.start();
    return seen;
  };
  const fast = await outage("fast");
  const immediate = await outage("immediate");
  await load.finally(() => (stop = true));

  for (const until = Date.now() + 60_000; ;) {
    const busy = await unsettledTotal(nc, names);
    const lag = await sql<{
      n: number;
    }>`SELECT (SELECT coalesce(max(id), 0) FROM changes) - (SELECT coalesce(max(last_id), 0) FROM relay_cursor) AS n`
      .execute(db.db)
      .catch(() => ({ rows: [{ n: 1 }] }));
    if (busy === 0 && (lag.rows[0]?.n ?? 1) <= 0) break;
    if (Date.now() > until) throw new Error(`not settled after the restarts (${busy} unsettled)`);
    await sleep(200);
  }

  expect(fast).toEqual({ ingestDown: true, exporterDown: true });
  expect(immediate).toEqual({ ingestDown: true, exporterDown: true });
  // Nothing lost, nothing doubled, nothing good dead-lettered.
  expect(await mixFigures(db)).toEqual({ ...expected, grainsAgree: true });
  expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(db.db)).rows[0]!.n).toBe(unique);
  expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM dead_letters`.execute(db.db)).rows[0]!.n).toBe(0);
  expect(ingest.health().ok).toBe(true);

  // The exporter is back by itself and shows what Postgres holds.
  expect(await metric("pulse_exporter_db_up")).toEqual(["pulse_exporter_db_up 1"]);
  const gauges = await sql<{ source: string; area: string; count: number }>`SELECT source, area, count FROM subscriber_gauges`.execute(
    db.db,
  );
  const lines = await metric("pulse_subscribers{");
  for (const g of gauges.rows) {
    const line = lines.find((l) => l.includes(`source="${g.source}"`) && l.includes(`area="${g.area}"`) && l.includes('service="mobile"'));
    expect(line?.split(" ").pop(), `${g.source}/${g.area}`).toBe(String(g.count));
  }

  // The gateway's client never left and holds what Postgres holds (egov_minute: the gateway keeps
  // the last 6 hours of minutes; the mix's are a week old).
  const last = (await (await jetstreamManager(nc)).streams.info(names.live)).state.last_seq;
  await client.until(() => client.seq >= last, 30_000, "the gateway to reach LIVE's end");
  expect(client.closeCode).toBeNull();
  const keepMinute = Date.now() - 6 * 3_600_000;
  const truth = Object.entries(await postgresValues(db)).filter(
    ([k]) => !k.startsWith("egov_minute\u0000") || Date.parse(k.split("minute=")[1]!) >= keepMinute,
  );
  expect(Object.entries(clientValues(client)).sort()).toEqual(truth.sort());
}, 150_000);
