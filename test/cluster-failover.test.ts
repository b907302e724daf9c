/**
 * Beyond one machine: the three-node cluster of infra/nats/ (started by its own script, with its
 * permissions), every stream R3, two ingest processes with only ingest's user, producers with
 * their own users that retry with the same Nats-Msg-Id. The node leading the busiest stream is
 * SIGKILLed mid-run and restarted later: every figure ends exact, nothing good dead-lettered,
 * and a live client on each of two gateways (the live user) stays connected and ends equal to
 * Postgres.
 */
import { msgId } from "@pulse/contracts";
import { createDb, sql, type Db } from "@pulse/db";
import { allStreams, defaultStreamNames, headers, jetstream, jetstreamManager, unsettledTotal, type NatsConnection } from "@pulse/nats";
import { loadConfig as liveConfig, startLive, type Live } from "@pulse/live";
import { allLogTopics, clientValues, LiveClient, postgresValues } from "@pulse/live/testing";
import { createTestDatabase, uniqueTag, type TestDatabase } from "@pulse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventMix } from "./support/event-mix";
import { spawnIngest, type IngestProcess } from "./support/ingest-process";
import { mixFigures } from "./support/mix-figures";
import { nodeOf, startNatsCluster, type NatsCluster } from "./support/nats-cluster";

const EVENTS = Number(process.env.CLUSTER_EVENTS ?? 100_000);
let cluster: NatsCluster;
let database: TestDatabase;
let db: Db;
let admin: NatsConnection;
const procs: IngestProcess[] = [];
const gateways: Live[] = [];
const clients: LiveClient[] = [];
const producers = new Map<string, NatsConnection>();

beforeAll(async () => {
  cluster = await startNatsCluster();
  database = await createTestDatabase(uniqueTag("cluster"));
  db = createDb({ url: database.url, poolMax: 2 });
  admin = await cluster.connect("ingest", "test-admin");
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => {});
  for (const g of gateways) await g.close().catch(() => {});
  for (const p of procs) await p.kill("SIGKILL");
  for (const nc of producers.values()) await nc.close().catch(() => {});
  await admin?.close().catch(() => {});
  await db?.close();
  await database?.drop();
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("keeps every figure exact through the SIGKILL of the stream leader's node, with two ingests", async () => {
  const env = {
    DATABASE_URL: database.url,
    NATS_URL: cluster.url,
    NATS_USER: "ingest",
    NATS_PASSWORD: cluster.passwords.ingest!,
    NATS_REPLICAS: "3",
    INGEST_BATCH_SIZE: "1000",
    INGEST_ACK_WAIT_MS: "10000",
  };
  procs.push(await spawnIngest(env));
  procs.push(await spawnIngest(env));

  const jsm = await jetstreamManager(admin, { timeout: 5_000 });
  for (const s of allStreams(defaultStreamNames)) {
    const info = await jsm.streams.info(s);
    expect(info.config.num_replicas, s).toBe(3);
    expect(info.cluster?.replicas?.length, s).toBe(2);
  }

  // Two gateways as the live user. The gateway takes its credentials out of NATS_URL (connectNats
  // does), which is how it runs until it reads NATS_USER/NATS_PASSWORD itself.
  const pw = encodeURIComponent(cluster.passwords.live!);
  const liveUrl = cluster.ports.map((p) => `nats://live:${pw}@127.0.0.1:${p}`).join(",");
  for (let g = 0; g < 2; g++) {
    const gw = await startLive(
      liveConfig({ DATABASE_URL: database.url, NATS_URL: liveUrl, LIVE_PORT: "0", LIVE_ADMIN_PORT: "0", LOG_LEVEL: "silent" }),
    );
    gateways.push(gw);
    const c = LiveClient.connect(`ws://127.0.0.1:${gw.port}/live`);
    await c.opened;
    c.subscribe("all", allLogTopics);
    await c.next((f) => f.type === "snapshot");
    clients.push(c);
  }

  const { events, expected } = eventMix(EVENTS, 16);
  const unique = new Set(events.map((e) => `${e.source}:${e.env.id}`)).size;
  for (const source of new Set(events.map((e) => e.source))) producers.set(source, await cluster.connect(source, `producer-${source}`));

  // Producers: 256 publishes in flight; each retries the same message (same Nats-Msg-Id) until
  // JetStream acknowledges it, as a producer must when its ack is lost in a failover.
  let next = 0;
  let acked = 0;
  let retries = 0;
  let duplicates = 0;
  const publishOne = async (i: number) => {
    const e = events[i]!;
    const js = jetstream(producers.get(e.source)!);
    const body = JSON.stringify({ v: 1, source: e.source, ts: "2026-11-26T09:15:00+07:00", area: "412", ...e.env });
    for (let attempt = 0; ; attempt++) {
      try {
        const h = headers();
        h.set("Nats-Msg-Id", msgId(e.source, e.env.id, e.env.revision ?? 0));
        const ack = await js.publish(`feeds.${e.feed}.${e.source}`, body, { headers: h, timeout: 3_000 });
        if (ack.duplicate) duplicates++;
        acked++;
        return;
      } catch {
        retries++;
        if (attempt > 200) throw new Error(`message ${i} not acknowledged after 200 attempts`);
        await sleep(Math.min(1_000, 50 * 2 ** Math.min(attempt, 5)));
      }
    }
  };
  const worker = async () => {
    while (next < events.length) await publishOne(next++);
  };
  const t0 = Date.now();
  const publishing = Promise.all(Array.from({ length: 256 }, worker));

  // A third of the way in, kill the node that leads the egov stream (half the events).
  while (acked < EVENTS / 3) await sleep(20);
  const leader = (await jsm.streams.info("FEEDS_EGOV")).cluster!.leader!;
  const victim = nodeOf(leader);
  const led = [];
  for (const s of allStreams(defaultStreamNames)) if ((await jsm.streams.info(s)).cluster?.leader === leader) led.push(s);
  const killedAt = acked;
  cluster.kill(victim);
  const killedAtMs = Date.now();
  // Down for at least 5 s and until another two thirds are acknowledged on the two survivors.
  while (acked < (EVENTS * 2) / 3 || Date.now() - killedAtMs < 5_000) await sleep(50);
  const newLeader = (await jsm.streams.info("FEEDS_EGOV")).cluster!.leader!;
  await cluster.start([victim]);
  const restartedAt = acked;
  await publishing;
  const publishMs = Date.now() - t0;

  // Settled: nothing pending on any feed consumer, and the relay has published every change.
  for (const until = Date.now() + 120_000; ;) {
    let busy = Number.POSITIVE_INFINITY;
    try {
      busy = await unsettledTotal(admin, defaultStreamNames);
    } catch {
      /* a consumer leader moving: ask again */
    }
    if (busy === 0) {
      const lag = await sql<{
        n: number;
      }>`SELECT (SELECT coalesce(max(id), 0) FROM changes) - (SELECT coalesce(max(last_id), 0) FROM relay_cursor) AS n`.execute(db.db);
      if ((lag.rows[0]?.n ?? 0) <= 0) break;
    }
    if (Date.now() > until) throw new Error(`not settled: ${busy} unsettled`);
    await sleep(200);
  }
  const settleMs = Date.now() - t0 - publishMs;

  expect(await mixFigures(db)).toEqual({ ...expected, grainsAgree: true });
  expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM dead_letters`.execute(db.db)).rows[0]!.n).toBe(0);
  expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(db.db)).rows[0]!.n).toBe(unique);
  // JetStream's duplicate window survived the failover too: each record is stored once.
  let stored = 0;
  for (const f of ["SUBSCRIBERS", "BTS", "ESIGN", "EGOV"]) stored += (await jsm.streams.info(`FEEDS_${f}`)).state.messages;
  expect(stored).toBe(unique);
  // The killed node came back and caught up: every replica current.
  for (const until = Date.now() + 30_000; ;) {
    const infos = await Promise.all(allStreams(defaultStreamNames).map((s) => jsm.streams.info(s)));
    if (infos.every((i) => (i.cluster?.replicas ?? []).length === 2 && i.cluster!.replicas!.every((r) => r.current && !r.offline))) break;
    if (Date.now() > until) throw new Error("the restarted node did not catch up");
    await sleep(250);
  }
  // The live clients never left, and hold exactly what Postgres holds.
  const last = (await jsm.streams.info(defaultStreamNames.live)).state.last_seq;
  // The gateway holds egov_minute keys of the last LIVE_MINUTES_HOURS (6) only; the mix's
  // events are a week old, so none of their minutes is a key a screen keeps.
  const keepMinute = Date.now() - 6 * 3_600_000;
  const truth = Object.fromEntries(
    Object.entries(await postgresValues(db)).filter(
      ([k]) => !k.startsWith("egov_minute\u0000") || Date.parse(k.split("minute=")[1]!) >= keepMinute,
    ),
  );
  for (const [g, c] of clients.entries()) {
    await c.until(() => c.seq >= last, 60_000, `gateway ${g} to reach LIVE's ${last}`);
    expect(c.closeCode, `client of gateway ${g}`).toBeNull();
    expect(Object.entries(clientValues(c)).sort(), `client of gateway ${g}`).toEqual(Object.entries(truth).sort());
  }
  // Both ingest processes did work and are still healthy.
  const [a, b] = [await procs[0]!.eventsTotal(), await procs[1]!.eventsTotal()];
  expect(Math.min(a, b)).toBeGreaterThan(0);
  for (const p of procs) expect(((await (await fetch(`http://127.0.0.1:${p.port}/healthz`)).json()) as { ok: boolean }).ok).toBe(true);

  console.log(
    JSON.stringify({
      events: events.length,
      unique,
      killed: `pulse-${victim} (leader of ${led.join(", ")}) at ${killedAt} acked; FEEDS_EGOV leader then ${newLeader}; restarted at ${restartedAt}`,
      retries,
      duplicates,
      publish_s: publishMs / 1000,
      settle_after_publish_s: settleMs / 1000,
      ingest_events: [a, b],
    }),
  );
}, 300_000);
