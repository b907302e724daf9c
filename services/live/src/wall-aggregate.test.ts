import { describe, expect, it } from "vitest";
import { districts, provinceHouseholds } from "@pulse/seeds";
import { wallConfig } from "./http-routes";
import { buildView, feedStates } from "../wall/lib/aggregate.js";
import { LiveStore, type Entry } from "../wall/lib/store.js";

// The config the page gets from /config.json, built by the gateway's own function.
const config = wallConfig("Sở Khoa học và Công nghệ tỉnh Nghệ An");
const now = Date.parse("2026-12-03T07:30:00Z"); // 14:30 in Vinh
let version = 0;
const e = (metric: string, key: Record<string, string>, value: unknown): Entry => ({ metric, key, value, version: ++version });
const subs = (source: string, service: string, area: string, n: number) => e("subscribers", { source, service, area }, n);
const fresh = (source: string, feed: string, state = "fresh", at = "2026-12-03T07:29:00.000Z") =>
  e("freshness", { source, feed }, { state, last_received_at: at, cadence_s: 300 });

describe("wall view", () => {
  it("province totals are sums over districts and carriers; a district view shows that district only", () => {
    const s = LiveStore.fromEntries([
      subs("viettel", "mobile", "412", 1000),
      subs("viettel", "mobile", "413", 500),
      subs("vinaphone", "mobile", "412", 300),
      subs("mobifone", "mobile_broadband", "412", 70),
      subs("viettel", "ftth", "412", 40_000),
      subs("vinaphone", "ftth", "413", 2_000),
    ]);
    const p = buildView(s, config, { area: "40", nowMs: now });
    expect(p.subscribers.mobile!.total).toBe(1800);
    expect(p.subscribers.mobile!.byCarrier.map((c) => [c.id, c.value])).toEqual([
      ["viettel", 1500],
      ["vinaphone", 300],
      ["mobifone", null],
      ["vietnamobile", null],
    ]);
    expect(p.subscribers.mobile_broadband!.total).toBe(70);
    expect(p.subscribers.fixed_broadband!.total).toBeNull(); // no figure yet: a dash, not 0
    expect(p.ftth.households).toBe(42_000);
    expect(p.ftth.of).toBe(provinceHouseholds);
    expect(p.ftth.coverage).toBeCloseTo(42_000 / 840_932, 12);
    expect(p.ftth.target).toBe(0.68);

    const d = buildView(s, config, { area: "413", nowMs: now });
    expect(d.subscribers.mobile!.total).toBe(500);
    expect(d.ftth.households).toBe(2_000);
    expect(d.ftth.of).toBe(districts.find((x) => x.code === "413")!.households);
    expect(d.areaVi).toBe("Thị xã Cửa Lò");
  });

  it("a ratio comes from the kpi topic when the gateway holds it (null = no denominator), else from the counts", () => {
    const day = "2026-12-03";
    const esign = (area: string, signed: string, n: number) =>
      e("esign_day", { day, source: "edoc", agency: "so-tttt", area, signed, signer: "personal" }, n);
    const s = LiveStore.fromEntries([esign("40", "true", 191), esign("40", "false", 9), esign("412", "true", 10)]);
    expect(buildView(s, config, { area: "40", nowMs: now }).esign).toMatchObject({ exchanged: 210, signed: 201, target: 0.955 });
    expect(buildView(s, config, { area: "40", nowMs: now }).esign.rate).toBeCloseTo(201 / 210, 12);
    s.apply([e("kpi", { kpi: "esign_rate", area: "40" }, 0.5)]);
    expect(buildView(s, config, { area: "40", nowMs: now }).esign.rate).toBe(0.5);
    s.apply([e("kpi", { kpi: "esign_rate", area: "40" }, null)]);
    expect(buildView(s, config, { area: "40", nowMs: now }).esign.rate).toBeNull();
    // A district holds its own documents; provincial agencies (area 40) are not a district's.
    expect(buildView(s, config, { area: "412", nowMs: now }).esign).toMatchObject({ exchanged: 10, signed: 10, rate: 1 });
    // Yesterday's documents are not today's.
    s.apply([
      e("esign_day", { day: "2026-12-02", source: "edoc", agency: "so-tttt", area: "412", signed: "true", signer: "personal" }, 99),
    ]);
    expect(buildView(s, config, { area: "412", nowMs: now }).esign.exchanged).toBe(10);
  });

  it("dossiers: online shares and on-time rate by contracts' formulas; steps per minute over the last hour", () => {
    const day = "2026-12-03";
    const egov = (channel: string, status: string, n: number, area = "412") =>
      e("egov_day", { day, source: "dvc", agency: "ubnd-huyen", level: "district", channel, status, area }, n);
    const minute = (agoMin: number, n: number) =>
      e("egov_minute", { minute: new Date(Math.floor(now / 60_000) * 60_000 - agoMin * 60_000).toISOString() }, n);
    const s = LiveStore.fromEntries([
      egov("online_full", "received", 50),
      egov("online_partial", "received", 30),
      egov("in_person", "received", 20),
      egov("online_full", "resolved_on_time", 19),
      egov("online_full", "resolved_late", 1),
      egov("online_full", "rejected", 5),
      minute(0, 4), // this minute, still running
      minute(1, 9),
      minute(2, 7),
      minute(60, 3),
      minute(61, 100), // outside the hour
    ]);
    const v = buildView(s, config, { area: "40", nowMs: now }).egov;
    expect(v.receivedToday).toBe(100);
    expect(v.onlineShare).toBeCloseTo(0.8, 12);
    expect(v.onlineFullShare).toBeCloseTo(0.5, 12);
    expect(v.onlinePartialShare).toBeCloseTo(0.3, 12);
    expect(v.ontimeRate).toBeCloseTo(19 / 20, 12); // rejected excluded
    expect(v.lastMinute).toBe(9);
    expect(v.hour).toBe(9 + 7 + 3);
    expect(v.series.xs.length).toBe(61);
    expect(v.series.ys.at(-1)).toBe(4);
    expect(v.series.xs.at(-1)! - v.series.xs[0]!).toBe(3600);
  });

  it("BTS by technology, and stations down longest first with how long, by the server's time", () => {
    const count = (source: string, tech: string, area: string, status: string, n: number) =>
      e("bts_stations", { source, tech, area, status }, n);
    const station = (source: string, id: string, area: string, status: string, since: string) =>
      e("bts_station", { source, station: id }, { tech: "4G", area, status, since });
    const s = LiveStore.fromEntries([
      count("viettel", "4G", "412", "up", 100),
      count("viettel", "4G", "412", "down", 2),
      count("vinaphone", "4G", "413", "down", 1),
      count("viettel", "5G", "412", "degraded", 3),
      count("viettel", "5G", "412", "removed", 9),
      station("viettel", "A", "412", "down", "2026-12-03T07:20:00Z"),
      station("viettel", "B", "412", "down", "2026-12-03T05:00:00Z"),
      station("vinaphone", "C", "413", "down", "2026-12-03T07:29:00Z"),
      station("vinaphone", "D", "413", "up", "2026-12-03T01:00:00Z"),
    ]);
    const v = buildView(s, config, { area: "40", nowMs: now });
    expect(v.bts.total).toBe(106); // removed stations are not stations
    expect(v.bts.down).toBe(3);
    expect(v.bts.rows.find((r) => r.tech === "5G")).toMatchObject({ degraded: 3, total: 3 });
    expect(v.alarms.total).toBe(3);
    expect(v.alarms.rows.map((r) => [r.station, r.forMs])).toEqual([
      ["B", 2.5 * 3_600_000],
      ["A", 10 * 60_000],
      ["C", 60_000],
    ]);
    expect(v.alarms.rows[0]).toMatchObject({ carrier: "Viettel", areaVi: "Thành phố Vinh" });
    // Bounded rows; the total says how many in all.
    expect(buildView(s, config, { area: "40", nowMs: now, alarmRows: 1 }).alarms).toMatchObject({ total: 3, rows: [{ station: "B" }] });
    // A district's alarms only; a station that came back up leaves the list.
    expect(buildView(s, config, { area: "413", nowMs: now }).alarms.rows.map((r) => r.station)).toEqual(["C"]);
    s.apply([station("vinaphone", "C", "413", "up", "2026-12-03T07:29:30Z")]);
    expect(buildView(s, config, { area: "413", nowMs: now }).alarms.total).toBe(0);
    // Before the first heartbeat the duration is unknown, not measured by the browser's clock.
    expect(buildView(s, config, { area: "40", nowMs: null }).alarms.rows[0]!.forMs).toBeNull();
  });

  it("reporting completeness per feed: who reported within cadence, and the worst state for the badge", () => {
    const s = LiveStore.fromEntries([
      fresh("viettel", "subscribers"),
      fresh("vinaphone", "subscribers"),
      fresh("mobifone", "subscribers"),
      fresh("vietnamobile", "subscribers", "late", "2026-12-03T07:10:00.000Z"),
      fresh("viettel", "bts", "pipeline_behind"),
      fresh("dvc", "egov"),
    ]);
    const f = feedStates(s, config);
    expect(f.subscribers).toMatchObject({ state: "late", reported: 3, total: 4, kind: "carrier" });
    expect(f.subscribers!.lastReceivedMs).toBe(Date.parse("2026-12-03T07:29:00.000Z"));
    expect(f.subscribers!.sources.find((x) => x.id === "vietnamobile")).toMatchObject({ name: "Vietnamobile", state: "late" });
    // Ingest behind on one carrier's feed says more than three not heard of yet (unknown).
    expect(f.bts).toMatchObject({ state: "pipeline_behind", reported: 0, total: 4 });
    expect(f.egov).toMatchObject({ state: "fresh", reported: 1, total: 1, kind: "system" });
    expect(f.esign).toMatchObject({ state: "unknown", reported: 0, total: 1 });
    s.apply([fresh("vietnamobile", "subscribers", "silent")]);
    expect(feedStates(s, config).subscribers!.state).toBe("silent");
    // Each carrier row carries its own state, so a missing carrier is visible in the total.
    const v = buildView(s, config, { area: "40", nowMs: now });
    expect(v.subscribers.mobile!.byCarrier.find((c) => c.id === "vietnamobile")!.state).toBe("silent");
  });

  it("today is the server's UTC+7 day; before a heartbeat, the latest day held", () => {
    const s = LiveStore.fromEntries([
      e("esign_day", { day: "2026-12-02", source: "edoc", agency: "a", area: "40", signed: "true", signer: "personal" }, 1),
      e("esign_day", { day: "2026-12-03", source: "edoc", agency: "a", area: "40", signed: "true", signer: "personal" }, 2),
    ]);
    expect(buildView(s, config, { area: "40", nowMs: null }).today).toBe("2026-12-03");
    expect(buildView(s, config, { area: "40", nowMs: Date.parse("2026-12-03T17:00:00Z") }).today).toBe("2026-12-04");
    expect(buildView(s, config, { area: "40", nowMs: Date.parse("2026-12-03T17:00:00Z") }).esign.exchanged).toBeNull();
  });
});
