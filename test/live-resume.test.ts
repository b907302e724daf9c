import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig, startLive, type Live, type LiveConfig } from "@pulse/live";
import { allLogTopics, clientValues, LiveClient, postgresValues } from "@pulse/live/testing";
import { jetstreamManager } from "@pulse/nats";

// Resume: a client that comes back with its last seq gets exactly what it missed, from the same
// gateway or another one, or a reset snapshot when LIVE no longer holds the gap.
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19) + "+07:00";
/** A dossier received by a commune's people's committee (the level in force since 2025-07-01). */
const communeDossier = { procedure: "cap-giay-phep", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received" };

describe("resume", () => {
  let h: Harness;
  const gateways: Live[] = [];
  const clients: LiveClient[] = [];
  let offset = 0;
  const start = async (env: Record<string, string> = {}, overrides: Partial<LiveConfig> = {}) => {
    const g = await startLive(
      loadConfig(
        {
          DATABASE_URL: h.database.url,
          NATS_URL: h.config.natsUrl,
          LIVE_PORT: "0",
          LIVE_ADMIN_PORT: "0",
          LIVE_HEARTBEAT_MS: "300",
          LOG_LEVEL: "silent",
          ...env,
        },
        { names: h.names, ...overrides },
      ),
      { clock: () => Date.now() + offset },
    );
    gateways.push(g);
    return g;
  };
  const connect = (g: Live, keep?: LiveClient) => {
    const c = LiveClient.connect(`ws://127.0.0.1:${g.port}/live`);
    // A screen keeps what it held across the reconnect.
    if (keep) for (const [k, v] of keep.values) c.values.set(k, v);
    clients.push(c);
    return c;
  };
  let n = 0;
  const publishSome = async (count: number) => {
    const now = Date.now();
    for (let i = 0; i < count; i++, n++) {
      await h.publish(
        "subscribers",
        "viettel",
        make.subscribers(`s${n}`, "mobile", 1000 + n, { ts: local(now - 1000 + i), area: ["16681", "16732", "17506"][n % 3] }),
      );
      await h.publish(
        "bts",
        "mobifone",
        make.bts(`b${n}`, `st${n % 7}`, n % 4 === 0 ? "down" : "up", { ts: local(now - 1000 + i), area: "16681" }),
      );
      await h.publish("esign", "edoc", make.esign(`d${n}`, n % 5 !== 0, { ts: local(now - 1000 + i), agency: "so-khcn" }));
      await h.publish(
        "egov",
        "dvc",
        make.egov(`x${n}:received`, "received", { ts: local(now - 1000 + i), area: "16732", data: communeDossier }),
      );
    }
    await h.settle();
  };
  const caughtUp = async (c: LiveClient, g: Live) => c.until(() => c.seq >= g.seq(), 10_000, `client at seq ${g.seq()}`);

  beforeAll(async () => {
    h = await ingestHarness("live_resume");
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    for (const g of gateways) await g.close();
    await h?.close();
  });

  it("resumes on the same gateway and on a second one: resumed, nothing missing, equal to Postgres", async () => {
    const a = await start();
    const b = await start();
    const c1 = connect(a);
    await c1.opened;
    c1.subscribe("all", allLogTopics);
    await c1.next((f) => f.type === "snapshot");
    await publishSome(10);
    await caughtUp(c1, a);
    expect(clientValues(c1)).toEqual(await postgresValues(h.db));
    await c1.close();
    const since = c1.seq;

    await publishSome(10);
    for (const g of [a, b]) {
      const c = connect(g, c1);
      await c.opened;
      c.subscribe("all", allLogTopics, { since });
      const r = await c.next((f) => f.type === "resumed" || f.type === "snapshot");
      expect(r).toEqual({ type: "resumed", id: "all", seq: since });
      await caughtUp(c, g);
      expect(c.frames.some((f) => f.type === "snapshot")).toBe(false);
      expect(clientValues(c)).toEqual(await postgresValues(h.db));
      // The replay carries what changed after since, not the whole state.
      const replay = c.frames.find((f) => f.type === "delta")!;
      expect(replay.seq).toBe(g.seq());
    }
  });

  it("a since older than the ring is read from the stream; older than LIVE holds gets a reset snapshot", async () => {
    const first = connect(gateways[0]!);
    await first.opened;
    first.subscribe("all", allLogTopics);
    await first.next((f) => f.type === "snapshot");
    const since = gateways[0]!.seq();
    await publishSome(5);
    // A gateway with a ring of 2: this since is behind it, the stream still holds the gap.
    const small = await start({ LIVE_RING: "2" });
    await publishSome(3);
    const c = connect(small, first);
    await c.opened;
    c.subscribe("all", allLogTopics, { since });
    expect(await c.next((f) => f.type === "resumed" || f.type === "snapshot")).toEqual({ type: "resumed", id: "all", seq: since });
    await caughtUp(c, small);
    expect(clientValues(c)).toEqual(await postgresValues(h.db));

    // LIVE loses its older messages (as retention would): the gap can no longer be proven.
    const jsm = await jetstreamManager(h.nc);
    await jsm.streams.purge(h.names.live, { keep: 2 });
    const old = connect(small, first);
    await old.opened;
    old.subscribe("all", allLogTopics, { since });
    const snap = await old.next((f) => f.type === "resumed" || f.type === "snapshot");
    expect(snap.type).toBe("snapshot");
    expect(snap.reset).toBe(true);
    expect(snap.seq).toBe(small.seq());
    expect(clientValues(old)).toEqual(await postgresValues(h.db));

    // A since beyond anything LIVE ever held (another stream's): reset too.
    const odd = connect(small);
    await odd.opened;
    odd.subscribe("all", ["subscribers"], { since: small.seq() + 1_000_000 });
    const s2 = await odd.next((f) => f.type === "resumed" || f.type === "snapshot");
    expect(s2).toMatchObject({ type: "snapshot", reset: true });

    const metrics = await (await fetch(`http://127.0.0.1:${small.adminPort}/metrics`)).text();
    expect(metrics).toMatch(/pulse_live_resumes_total\{result="resumed"\} 1/);
    expect(metrics).toMatch(/pulse_live_resumes_total\{result="reset"\} 2/);
  });

  it("freshness turns late with no event published, as time passes", async () => {
    const g = gateways[0]!;
    const c = connect(g);
    await c.opened;
    c.subscribe("f", ["freshness"], { filter: { source: "mobifone", feed: "bts" } });
    const snap = await c.next((f) => f.type === "snapshot");
    expect(snap.entries).toHaveLength(1);
    expect(snap.entries[0].value).toMatchObject({ state: "fresh", cadence_s: 60 });
    const seq = g.seq();
    // Two cadences and a half later (mobifone's bts cadence is 60 s), with nothing published.
    offset = 150_000;
    const late = await c.next((f) => f.type === "delta" && f.entries.some((e: { value: { state: string } }) => e.value.state === "late"));
    expect(late.entries).toHaveLength(1);
    expect(late.entries[0].version).toBeGreaterThan(snap.entries[0].version);
    offset = 300_000;
    await c.next((f) => f.type === "delta" && f.entries.some((e: { value: { state: string } }) => e.value.state === "silent"));
    expect(g.seq()).toBe(seq);
    offset = 0;
  });
});
