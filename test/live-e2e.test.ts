import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyString } from "@pulse/contracts";
import { districts } from "@pulse/seeds";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig, startLive, type Live } from "@pulse/live";
import { allLogTopics, clientValues, LiveClient, postgresValues } from "@pulse/live/testing";
import { calendarClock, utc7DayStart, withinOneDay, type TestClock } from "@pulse/testkit";

// End to end: producers publish over NATS, the real ingest commits to Postgres and relays the
// change log to LIVE, the gateway pushes it to real ws clients, and what they hold equals Postgres.
// The gateway's clock (its "today") is a calendar clock (PULSE_TEST_CLOCK, docs/testing-time.md);
// events are dated by it, in the past of the broker's real clock.
const households413 = districts.find((d) => d.code === "413")!.households!;
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19) + "+07:00";

describe("live gateway after real ingest", () => {
  let h: Harness;
  let live: Live;
  let clock: TestClock;
  /** The instant today's events are dated from, and so the day they fall in. */
  let eventsAt = 0;
  const clients: LiveClient[] = [];
  const connect = (deflate = true) => {
    const c = LiveClient.connect(`ws://127.0.0.1:${live.port}/live`, { deflate });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    h = await ingestHarness("live_e2e");
    clock = calendarClock();
    live = await startLive(
      loadConfig(
        {
          DATABASE_URL: h.database.url,
          NATS_URL: h.config.natsUrl,
          LIVE_PORT: "0",
          LIVE_ADMIN_PORT: "0",
          LIVE_HEARTBEAT_MS: "500",
          LOG_LEVEL: "silent",
        },
        { names: h.names },
      ),
      { clock: () => clock.now() },
    );
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await live?.close();
    await h?.close();
  });

  it("serves the snapshot, then deltas whose values equal Postgres; a filter by area gets only that area", async () => {
    const all = connect();
    const only413 = connect();
    // The same subscription without permessage-deflate: plain frames, the same figures.
    const plain = connect(false);
    await all.opened;
    await only413.opened;
    await plain.opened;
    expect(all.ws.extensions).toBe("permessage-deflate");
    expect(plain.ws.extensions).toBe("");
    all.subscribe("all", allLogTopics);
    plain.subscribe("all", allLogTopics);
    only413.subscribe("a413", ["subscribers", "bts_stations"], { filter: { area: "413" } });
    const snap = await all.next((f) => f.type === "snapshot" && f.id === "all");
    expect(snap.entries).toEqual([]); // a fresh database
    await only413.next((f) => f.type === "snapshot");

    // Today's events all fall in one local day: in the first two minutes of a day, date them
    // just before its midnight (still in the past, as the clock is).
    const t = clock.now();
    const now = t - utc7DayStart(t) < 120_000 ? utc7DayStart(t) - 1_000 : t;
    eventsAt = now;
    const ts = (agoS: number) => ({ ts: local(now - agoS * 1000) });
    await h.publish("subscribers", "viettel", make.subscribers("s1", "mobile", 1000, ts(60)));
    await h.publish("subscribers", "viettel", make.subscribers("s1", "mobile", 900, { ...ts(60), revision: 1 }));
    await h.publish("subscribers", "vinaphone", make.subscribers("f1", "ftth", 42_000, { ...ts(30), area: "413" }));
    await h.publish("bts", "viettel", make.bts("b1", "A", "up", ts(120)));
    await h.publish("bts", "viettel", make.bts("b2", "A", "down", ts(30)));
    await h.publish("bts", "viettel", make.bts("b3", "B", "up", { ...ts(30), tech: "5G", area: "413" }));
    await h.publish("esign", "edoc", make.esign("d1", true, ts(30)));
    await h.publish("esign", "edoc", make.esign("d2", false, ts(20)));
    await h.publish("esign", "edoc", make.esign("d2", true, { ...ts(20), revision: 1 }));
    await h.publish("egov", "dvc", make.egov("x1:received", "received", ts(50)));
    await h.publish("egov", "dvc", make.egov("x2:received", "received", { ...ts(40), channel: "in_person" }));
    await h.publish("egov", "dvc", make.egov("x1:resolved", "resolved_on_time", ts(20)));
    await h.settle();
    await all.until(() => all.seq >= live.seq() && live.seq() > 0, 10_000, "the client at the gateway's seq");
    await plain.until(() => plain.seq >= live.seq(), 10_000, "the plain client at the gateway's seq");

    // Every key Postgres holds, with its value; a zero station count (the status nobody has) is
    // carried too, and equals "no row" in Postgres.
    const expected = await postgresValues(h.db);
    expect(Object.keys(expected).length).toBeGreaterThan(15);
    expect(clientValues(all)).toEqual(expected);
    expect(clientValues(plain)).toEqual(expected);
    expect(all.frames.filter((f) => f.type === "delta").length).toBeGreaterThan(0);
    // The value 900 came by a delta, after the snapshot: the restatement replaced 1000.
    expect(all.metric("subscribers").get(keyString({ source: "viettel", service: "mobile", area: "412" }))).toBe(900);

    // The filtered client: only area 413, and every key of it.
    await only413.until(() => only413.metric("subscribers").size === 1, 5_000, "the 413 subscriber key");
    for (const f of only413.frames) for (const e of (f.entries ?? []) as { key: Record<string, string> }[]) expect(e.key.area).toBe("413");
    expect([...only413.metric("bts_stations").entries()].filter(([, v]) => v !== 0)).toEqual([
      [keyString({ source: "viettel", tech: "5G", area: "413", status: "up" }), 1],
    ]);

    // A late subscriber's snapshot equals what the first one built from deltas.
    const late = connect();
    await late.opened;
    late.subscribe("all", allLogTopics);
    const s2 = await late.next((f) => f.type === "snapshot");
    expect(s2.seq).toBe(live.seq());
    expect(clientValues(late)).toEqual(expected);
  });

  it("derives today's KPIs, province-wide and per district, from the same figures", async () => {
    // The snapshot and the day the gateway derived it in: a tick or two after the day is read
    // (KPIs are derived on the tick), retried if the midnight clock crossed meanwhile.
    const { value: snap, dayStart } = await withinOneDay(clock, async () => {
      await new Promise((r) => setTimeout(r, 250));
      const c = connect();
      await c.opened;
      c.subscribe("k", ["kpi"], { filter: { area: ["40", "413"] } });
      return c.next((f) => f.type === "snapshot");
    });
    const kpi = new Map(
      snap.entries.map((e: { key: { kpi: string; area: string }; value: number | null }) => [`${e.key.kpi}|${e.key.area}`, e.value]),
    );
    expect(kpi.size).toBe(12);
    expect(kpi.get("esign_rate_30d|40")).toBe(1);
    expect(kpi.get("ftth_coverage|40")).toBeCloseTo(42_000 / 840_932, 12);
    expect(kpi.get("ftth_coverage|413")).toBeCloseTo(42_000 / households413, 12);
    if (dayStart !== utc7DayStart(eventsAt)) {
      // The clock crossed midnight after the events: nothing today yet.
      for (const k of ["esign_rate", "online_share", "online_full_share", "ontime_rate"]) expect(kpi.get(`${k}|40`), k).toBeNull();
      return;
    }
    // Documents d1 and d2 (restated to signed) today: 2 of 2 signed; dossiers: one online_full and
    // one in_person received, one resolved on time.
    expect(kpi.get("esign_rate|40")).toBe(1);
    expect(kpi.get("esign_rate_30d|40")).toBe(1);
    expect(kpi.get("online_share|40")).toBe(0.5);
    expect(kpi.get("online_full_share|40")).toBe(0.5);
    expect(kpi.get("ontime_rate|40")).toBe(1);
    expect(kpi.get("ftth_coverage|40")).toBeCloseTo(42_000 / 840_932, 12);
    expect(kpi.get("ftth_coverage|413")).toBeCloseTo(42_000 / households413, 12);
    expect(kpi.get("esign_rate|413")).toBeNull(); // no document from district 413
  });

  it("heartbeats carry the server's time and the seq", async () => {
    const c = connect();
    await c.opened;
    // Before any subscription is answered, a heartbeat names no sequence to resume from.
    const first = await c.next((f) => f.type === "heartbeat", 8_000);
    expect(Math.abs(Date.parse(first.now) - clock.now())).toBeLessThan(5_000);
    expect(first.seq).toBe(0);
    c.subscribe("hb", ["feed"]);
    await c.next((f) => f.type === "snapshot");
    const hb = await c.next((f) => f.type === "heartbeat", 8_000, c.frames.length);
    expect(hb.seq).toBe(live.seq());
  });
});

describe("live gateway's HTTP side", () => {
  let h: Harness;
  let live: Live;
  beforeAll(async () => {
    h = await ingestHarness("live_http", { start: false });
    live = await startLive(
      loadConfig(
        {
          DATABASE_URL: h.database.url,
          NATS_URL: h.config.natsUrl,
          LIVE_PORT: "0",
          LIVE_ADMIN_PORT: "0",
          LOG_LEVEL: "silent",
          PULSE_OPERATOR_NAME: "Thử nghiệm",
        },
        { names: h.names },
      ),
    );
  });
  afterAll(async () => {
    await live?.close();
    await h?.close();
  });

  it("serves /config.json from seeds, uPlot, /healthz on both ports and /metrics on the admin port", async () => {
    const base = `http://127.0.0.1:${live.port}`;
    const cfg = (await (await fetch(`${base}/config.json`)).json()) as Record<string, unknown>;
    expect(cfg.operator_name).toBe("Thử nghiệm");
    expect(cfg.province).toBe("40");
    expect(Object.keys(cfg).sort()).toEqual([
      "areas",
      "baselines",
      "calendar",
      "households",
      "operator_name",
      "province",
      "sources",
      "targets",
    ]);
    const js = await fetch(`${base}/vendor/uPlot.esm.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`${base}/vendor/uPlot.min.css`)).status).toBe(200);
    expect((await fetch(`${base}/../../package.json`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/src/live.ts`)).status).toBe(404);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { ok: boolean }).ok).toBe(true);
    expect((await fetch(`http://127.0.0.1:${live.adminPort}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${live.adminPort}/metrics`)).text();
    for (const name of ["pulse_live_clients", "pulse_live_frames_total", "pulse_live_lag_seconds", "pulse_live_stream_seq"])
      expect(metrics).toContain(name);
  });
});
