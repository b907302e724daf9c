import { afterAll, beforeAll, expect, it } from "vitest";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { areaMap, localDayNumber } from "@pulse/seeds";
import { loadConfig, startLive, type Live } from "@pulse/live";
import { allLogTopics, clientValues, LiveClient, postgresValues } from "@pulse/live/testing";
import { proxiedUrl, sharedPgUrl, startNatsServer, startTcpProxy, urlTarget, type NatsServer, type TcpProxy } from "@pulse/testkit";

// NATS or Postgres away: clients stay connected, heartbeats say the data is behind, and when it
// comes back they are caught up with nobody's help.
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19) + "+07:00";

let nats: NatsServer;
let proxy: TcpProxy;
let h: Harness;
let live: Live;
let c: LiveClient;

beforeAll(async () => {
  // A private broker and a cuttable road to Postgres: this test takes them away, never the machine's own.
  nats = await startNatsServer();
  proxy = await startTcpProxy(urlTarget(sharedPgUrl()));
  h = await ingestHarness("live_faults", { natsUrl: nats.url, ingestDbUrl: (u) => proxiedUrl(u, proxy), config: { ackWaitMs: 5_000 } });
  live = await startLive(
    loadConfig(
      {
        DATABASE_URL: proxiedUrl(h.database.url, proxy),
        NATS_URL: nats.url,
        LIVE_PORT: "0",
        LIVE_ADMIN_PORT: "0",
        LIVE_HEARTBEAT_MS: "200",
        LIVE_RELAY_BEHIND_MS: "1000",
        LOG_LEVEL: "silent",
      },
      { names: h.names },
    ),
  );
});
afterAll(async () => {
  await c?.close();
  await live?.close();
  await h?.close().catch(() => {});
  await proxy?.close();
  await nats?.stop();
});

/** Communes and wards in force today (by the test's clock). */
const communes = [...areaMap.leafCodesOn(localDayNumber(Date.now()))];
let n = 0;
const publish = async (count: number) => {
  for (let i = 0; i < count; i++, n++)
    await h.publish(
      "subscribers",
      "viettel",
      make.subscribers(`s${n}`, "mobile", 100 + n, { ts: local(Date.now() - 1000), area: communes[n % 6]! }),
    );
};
const sameAs = (expected: Record<string, unknown>) =>
  JSON.stringify(Object.entries(clientValues(c)).sort()) === JSON.stringify(Object.entries(expected).sort());
const heartbeat = (pred: (why: string[]) => boolean, from: number) =>
  c.next((f) => f.type === "heartbeat" && pred((f.why as string[] | undefined) ?? []), 15_000, from);

it("says behind while NATS is away, and catches up when it returns", async () => {
  c = LiveClient.connect(`ws://127.0.0.1:${live.port}/live`);
  await c.opened;
  c.subscribe("all", allLogTopics);
  await c.next((f) => f.type === "snapshot");
  await publish(5);
  await h.settle();
  await c.until(() => c.seq === live.seq() && live.seq() > 0, 10_000, "caught up");
  expect((await heartbeat(() => true, c.frames.length)).behind).toBeUndefined();

  await nats.down();
  const hb = await heartbeat((why) => why.includes("nats"), c.frames.length);
  expect(hb.behind).toBe(true);
  expect(c.closeCode).toBeNull();
  await new Promise((r) => setTimeout(r, 1_000));
  await nats.up();
  // The harness's own connection reconnects by itself too.
  for (let until = Date.now() + 20_000; Date.now() < until;) {
    try {
      await h.nc.flush();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await publish(5);
  await h.settle(30_000);
  const expected = await postgresValues(h.db);
  await c.until(() => sameAs(expected), 15_000, "equal to Postgres");
  await heartbeat((why) => why.length === 0, c.frames.length);
  expect(c.frames.filter((f) => f.type === "snapshot").length).toBe(1); // caught up by deltas, no reset
}, 60_000);

it("says behind while Postgres is away, and catches up when it returns", async () => {
  proxy.cut();
  await heartbeat((why) => why.includes("database"), c.frames.length);
  await publish(5); // ingest cannot commit these yet
  await new Promise((r) => setTimeout(r, 500));
  proxy.restore();
  await h.settle(30_000);
  const expected = await postgresValues(h.db);
  await c.until(() => sameAs(expected), 20_000, "equal to Postgres");
  await heartbeat((why) => why.length === 0, c.frames.length);
  expect(c.closeCode).toBeNull();
}, 60_000);

it("starts with Postgres away: serves, says loading, and answers the waiting subscription once it can read", async () => {
  proxy.cut();
  const late = await startLive(
    loadConfig(
      {
        DATABASE_URL: proxiedUrl(h.database.url, proxy),
        NATS_URL: nats.url,
        LIVE_PORT: "0",
        LIVE_ADMIN_PORT: "0",
        LIVE_HEARTBEAT_MS: "200",
        LIVE_START_WAIT_MS: "300",
        LOG_LEVEL: "silent",
      },
      { names: h.names },
    ),
  );
  const w = LiveClient.connect(`ws://127.0.0.1:${late.port}/live`);
  try {
    await w.opened;
    w.subscribe("all", allLogTopics);
    const hb = await w.next((f) => f.type === "heartbeat");
    expect(hb.why).toContain("loading");
    expect((await fetch(`http://127.0.0.1:${late.port}/healthz`)).status).toBe(503);
    expect(w.frames.some((f) => f.type === "snapshot")).toBe(false);
    proxy.restore();
    await w.next((f) => f.type === "snapshot", 15_000);
    expect(clientValues(w)).toEqual(await postgresValues(h.db));
  } finally {
    proxy.restore();
    await w.close();
    await late.close();
  }
}, 60_000);
