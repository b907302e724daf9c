import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyString } from "@pulse/contracts";
import { provinceHouseholds } from "@pulse/seeds";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig, startLive, type Live } from "@pulse/live";
import { allLogTopics, clientValues, LiveClient, postgresValues } from "@pulse/live/testing";
import { calendarClock, utc7DayStart, withinOneDay, type TestClock } from "@pulse/testkit";

// End to end: producers publish over NATS, the real ingest commits to Postgres and relays the
// change log to LIVE, the gateway pushes it to real ws clients, and what they hold equals Postgres.
// The gateway's clock (its "today") is a calendar clock (PULSE_TEST_CLOCK, docs/testing-time.md);
// events are dated by it, in the past of the broker's real clock.
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
    const only413 = connect(); // Phường Cửa Lò (16732), what was Thị xã Cửa Lò (413)
    // The same subscription without permessage-deflate: plain frames, the same figures.
    const plain = connect(false);
    await all.opened;
    await only413.opened;
    await plain.opened;
    expect(all.ws.extensions).toBe("permessage-deflate");
    expect(plain.ws.extensions).toBe("");
    all.subscribe("all", allLogTopics);
    plain.subscribe("all", allLogTopics);
    only413.subscribe("a16732", ["subscribers", "bts_stations"], { filter: { area: "16732" } });
    const snap = await all.next((f) => f.type === "snapshot" && f.id === "all");
    expect(snap.entries).toEqual([]); // a fresh database
    await only413.next((f) => f.type === "snapshot");

    // Today's events all fall in one local day: in the first two minutes of a day, date them
    // just before its midnight (still in the past, as the clock is).
    const t = clock.now();
    const now = t - utc7DayStart(t) < 120_000 ? utc7DayStart(t) - 1_000 : t;
    eventsAt = now;
    const ts = (agoS: number) => ({ ts: local(now - agoS * 1000) });
    const vinh = { area: "16681" }; // Phường Thành Vinh
    const dossier = (status: string, channel = "online_full") => ({
      data: { procedure: "cap-giay-phep", agency: "ubnd-xa", level: "commune", channel, status },
    });
    await h.publish("subscribers", "viettel", make.subscribers("s1", "mobile", 1000, { ...ts(60), ...vinh }));
    await h.publish("subscribers", "viettel", make.subscribers("s1", "mobile", 900, { ...ts(60), ...vinh, revision: 1 }));
    await h.publish("subscribers", "vinaphone", make.subscribers("f1", "ftth", 42_000, { ...ts(30), area: "16732" }));
    await h.publish("bts", "viettel", make.bts("b1", "A", "up", { ...ts(120), ...vinh }));
    await h.publish("bts", "viettel", make.bts("b2", "A", "down", { ...ts(30), ...vinh }));
    await h.publish("bts", "viettel", make.bts("b3", "B", "up", { ...ts(30), tech: "5G", area: "16732" }));
    await h.publish("esign", "edoc", make.esign("d1", true, { ...ts(30), agency: "so-khcn" }));
    await h.publish("esign", "edoc", make.esign("d2", false, { ...ts(20), agency: "so-khcn" }));
    await h.publish("esign", "edoc", make.esign("d2", true, { ...ts(20), agency: "so-khcn", revision: 1 }));
    await h.publish("egov", "dvc", make.egov("x1:received", "", { ...ts(50), ...vinh, ...dossier("received") }));
    await h.publish("egov", "dvc", make.egov("x2:received", "", { ...ts(40), ...vinh, ...dossier("received", "in_person") }));
    await h.publish("egov", "dvc", make.egov("x1:resolved", "", { ...ts(20), ...vinh, ...dossier("resolved_on_time") }));
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
    expect(all.metric("subscribers").get(keyString({ source: "viettel", service: "mobile", area: "16681" }))).toBe(900);

    // The filtered client: only area 16732, and every key of it.
    await only413.until(() => only413.metric("subscribers").size === 1, 5_000, "the 16732 subscriber key");
    for (const f of only413.frames)
      for (const e of (f.entries ?? []) as { key: Record<string, string> }[]) expect(e.key.area).toBe("16732");
    expect([...only413.metric("bts_stations").entries()].filter(([, v]) => v !== 0)).toEqual([
      [keyString({ source: "viettel", tech: "5G", area: "16732", status: "up" }), 1],
    ]);

    // A late subscriber's snapshot equals what the first one built from deltas.
    const late = connect();
    await late.opened;
    late.subscribe("all", allLogTopics);
    const s2 = await late.next((f) => f.type === "snapshot");
    expect(s2.seq).toBe(live.seq());
    expect(clientValues(late)).toEqual(expected);
  });

  it("derives today's KPIs and roll-ups, province-wide, per former district and per commune, from the same figures", async () => {
    // The client and the day the gateway derived its figures in: retried if the midnight clock
    // crossed meanwhile.
    const province = keyString({ scope: "province", area: "40" });
    const { value: c, dayStart } = await withinOneDay(clock, async () => {
      const c = connect();
      await c.opened;
      c.subscribe("k", ["kpi", "rollup"], { filter: { area: ["40", "412", "16732"] } });
      await c.next((f) => f.type === "snapshot");
      // The roll-ups are judged every LIVE_DERIVED_MS (500 ms) under a flow: the last change may follow in a delta.
      const today = utc7DayStart(clock.now()) === utc7DayStart(eventsAt);
      if (today) {
        await c.until(() => (c.metric("rollup").get(province) as { on_time?: number } | undefined)?.on_time === 1, 5_000, "the roll-ups");
      } else {
        await new Promise((r) => setTimeout(r, 1_000));
      }
      return c;
    });
    type E = { metric: string; key: { kpi: string; area: string; scope?: string }; value: never };
    const entries: E[] = [...c.values].map(([id, h]) => {
      const [metric, k] = id.split("\u0000") as [string, string];
      const key = Object.fromEntries(k.split("|").map((kv) => kv.split("="))) as E["key"];
      return { metric, key, value: h.value as never };
    });
    const kpi = new Map(
      entries.filter((e) => e.metric === "kpi").map((e) => [`${e.key.kpi}|${e.key.scope ? "fd:" : ""}${e.key.area}`, e.value]),
    );
    // Province: six KPIs; the former district 412 and the commune 16732: five (no FTTH coverage below the province).
    expect(kpi.size).toBe(6 + 5 + 5);
    expect(kpi.get("esign_rate_30d|40")).toBe(1);
    expect(kpi.get("ftth_coverage|40")).toBeCloseTo(42_000 / provinceHouseholds, 12);
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
    expect(kpi.get("ftth_coverage|40")).toBeCloseTo(42_000 / provinceHouseholds, 12);
    expect(kpi.has("ftth_coverage|16732")).toBe(false);
    expect(kpi.get("esign_rate|16732")).toBeNull(); // no document from Phường Cửa Lò
    expect(kpi.get("ontime_rate|fd:412")).toBe(1); // the former district Vinh: its communes' dossiers
    expect(kpi.get("online_share|fd:412")).toBe(0.5);
    const rollup = new Map(
      entries.filter((e) => e.metric === "rollup").map((e) => [`${e.key.scope}|${e.key.area}`, e.value as Record<string, number>]),
    );
    expect(rollup.get("province|40")).toMatchObject({ mobile: 900, ftth: 42_000, bts: 2, bts_down: 1, esign: 2, received: 2, on_time: 1 });
    expect(rollup.get("former_district|412")).toMatchObject({ mobile: 900, ftth: 42_000, bts: 2, received: 2, on_time: 1 });
    expect(rollup.get("former_district|412")!.esign).toBeUndefined(); // the documents were a provincial department's
    expect(rollup.get("commune|16732")).toMatchObject({ ftth: 42_000, "bts.5G.up": 1 });
    expect(rollup.get("commune|16732")!.mobile).toBeUndefined(); // no mobile reading: no figure
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
    // The configuration's hash: a wall whose /config.json says otherwise reloads.
    const cfg = (await (await fetch(`http://127.0.0.1:${live.port}/config.json`)).json()) as { hash: string };
    expect(hb.config).toBe(cfg.hash);
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
      "hash",
      "households",
      "operator_name",
      "province",
      "sources",
      "targets",
      "today",
    ]);
    // Every area, dated; 130 communes and wards in force today, in 20 former districts.
    const areas = cfg.areas as Record<string, unknown>[];
    expect(areas.find((a) => a.code === "17506")).toEqual({
      code: "17506",
      name_vi: "Xã Yên Thành",
      name_en: "Xã Yên Thành",
      level: "commune",
      parent: "40",
      former_district: "426",
      type: "xa",
      valid_from: "2025-07-01",
      valid_to: null,
    });
    const today = cfg.today as { leaves: string[]; former_districts: unknown[] };
    expect([today.leaves.length, today.former_districts.length]).toEqual([130, 20]);
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
