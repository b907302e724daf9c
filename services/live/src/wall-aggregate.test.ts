import { describe, expect, it } from "vitest";
import { areaMap, localDay, provinceHouseholds } from "@pulse/seeds";
import { DerivedFigures } from "./derived";
import { wallConfig } from "./http-routes";
import { LiveState } from "./live-state";
import { mapOfDay } from "./map-of-day";
import { buildView, feedStates, mapOn, scopeOf } from "../wall/lib/aggregate.js";
import { areaOptions, foldText, searchAreas } from "../wall/lib/area-picker.js";
import { communeRows, pageOf, sortRows } from "../wall/lib/commune-table.js";
import { LiveStore, type Entry } from "../wall/lib/store.js";

// The wall's views from what the gateway sends: the state goes through the gateway's own
// DerivedFigures (rollup, kpi), and the page's store holds those entries. The config is the
// gateway's /config.json. Dates relative to the test's clock.
const now = Date.now();
const today = localDay(now);
const config = wallConfig("Sở Khoa học và Công nghệ tỉnh Nghệ An", mapOfDay(areaMap, now));
let version = 0;
const e = (metric: string, key: Record<string, string>, value: unknown): Entry => ({ metric, key, value, version: ++version });
const fresh = (source: string, feed: string, state = "fresh", at = new Date(now - 60_000).toISOString()) =>
  e("freshness", { source, feed }, { state, last_received_at: at, cadence_s: 300 });

/** What a wall holds after its snapshot, for a gateway state made of `entries` (and raw `extra` entries, e.g. stations). */
function wallStore(
  entries: [string, Record<string, string>, number][],
  extra: Entry[] = [],
  reported: { area: string; source: string }[] = [],
) {
  const state = new LiveState(0, () => true);
  for (const [metric, key, value] of entries) state.put(metric, key, value, ++version, 0, 0, false);
  const f = new DerivedFigures();
  f.setReported(reported);
  const { kpi, rollup } = f.compute(state, now);
  return LiveStore.fromEntries([
    ...[...rollup.values()].map((x) => e("rollup", x.key, x.value)),
    ...[...kpi.values()].map((x) => e("kpi", x.key as Record<string, string>, x.value)),
    ...extra,
  ]);
}
const subs = (source: string, service: string, area: string, n: number): [string, Record<string, string>, number] => [
  "subscribers",
  { source, service, area },
  n,
];

describe("wall view on today's map", () => {
  it("/config.json names every area with its dates, and the map in force today", () => {
    const cua = config.areas.find((a) => a.code === "16732");
    expect(cua).toEqual({
      code: "16732",
      name_vi: "Phường Cửa Lò",
      name_en: "Phường Cửa Lò",
      level: "commune",
      parent: "40",
      former_district: "412",
      type: "phuong",
      valid_from: "2025-07-01",
      valid_to: null,
    });
    expect(config.areas.find((a) => a.code === "413")).toMatchObject({ level: "district", valid_to: "2024-12-31" });
    expect(config.today!.day).toBe(today);
    expect(config.today!.leaves.length).toBe(130);
    expect(config.today!.former_districts.length).toBe(20);
    expect(config.hash).toMatch(/^[0-9a-f]{16}$/);
    // The hash moves with the map: the day before the cut-over had another.
    expect(wallConfig("x", mapOfDay(areaMap, Date.parse("2025-06-30T12:00:00+07:00"))).hash).not.toBe(
      wallConfig("x", mapOfDay(areaMap, Date.parse("2025-07-02T12:00:00+07:00"))).hash,
    );
  });

  it("the province is the communes in force; a former district its communes; a commune itself", () => {
    const s = wallStore([
      subs("viettel", "mobile", "412", 999_999), // a district's reading: history
      subs("viettel", "mobile", "16681", 1000),
      subs("viettel", "mobile", "16732", 500),
      subs("vinaphone", "mobile", "16732", 300),
      subs("mobifone", "mobile_broadband", "17506", 70),
      subs("viettel", "ftth", "16681", 40_000),
      subs("vinaphone", "ftth", "16732", 2_000),
    ]);
    const p = buildView(s, config, { area: "40", nowMs: now });
    expect(p.scope).toBe("province");
    expect(p.subscribers.mobile!.total).toBe(1800);
    expect(p.subscribers.mobile!.byCarrier.map((c) => [c.id, c.value])).toEqual([
      ["viettel", 1500],
      ["vinaphone", 300],
      ["mobifone", null],
      ["vietnamobile", null],
    ]);
    expect(p.subscribers.fixed_broadband!.total).toBeNull(); // no figure yet: a dash, not 0
    expect(p.ftth).toMatchObject({ households: 42_000, of: provinceHouseholds, target: 0.68 });
    expect(p.ftth.coverage).toBeCloseTo(42_000 / provinceHouseholds, 12);
    expect(p.retired).toBe(1);

    const vinh = buildView(s, config, { area: "412", nowMs: now });
    expect(vinh.scope).toBe("former_district");
    expect(vinh.areaVi).toBe("Thành phố Vinh");
    expect(vinh.subscribers.mobile!.total).toBe(1800);
    // FTTH households without a ratio below the province.
    expect(vinh.ftth).toMatchObject({ households: 42_000, of: null, coverage: null, target: null });

    const cua = buildView(s, config, { area: "16732", nowMs: now });
    expect(cua).toMatchObject({ scope: "commune", areaVi: "Phường Cửa Lò", areaEn: "Phường Cửa Lò" });
    expect(cua.subscribers.mobile!.total).toBe(800);
    expect(cua.ftth).toMatchObject({ households: 2_000, coverage: null });
    // A code no longer in force is not a view: 413 (Cửa Lò until 2024) falls back to the province.
    expect(scopeOf(config, today, "413")).toBeNull();
    expect(buildView(s, config, { area: "413", nowMs: now }).scope).toBe("province");
  });

  it("documents and dossiers today, ratios from the gateway's kpi; the minute series province-wide", () => {
    const minute = (agoMin: number, n: number) =>
      e("egov_minute", { minute: new Date(Math.floor(now / 60_000) * 60_000 - agoMin * 60_000).toISOString() }, n);
    const egov = (channel: string, status: string, n: number): [string, Record<string, string>, number] => [
      "egov_day",
      { day: today, source: "dvc", agency: "ubnd-xa", level: "commune", channel, status, area: "16732" },
      n,
    ];
    const s = wallStore(
      [
        ["esign_day", { day: today, source: "edoc", agency: "so-khcn", area: "40", signed: "true", signer: "personal" }, 191],
        ["esign_day", { day: today, source: "edoc", agency: "so-khcn", area: "40", signed: "false", signer: "personal" }, 9],
        ["esign_day", { day: today, source: "edoc", agency: "ubnd-xa", area: "16732", signed: "true", signer: "personal" }, 10],
        egov("online_full", "received", 50),
        egov("online_partial", "received", 30),
        egov("in_person", "received", 20),
        egov("online_full", "resolved_on_time", 19),
        egov("online_full", "resolved_late", 1),
        egov("online_full", "rejected", 5),
      ],
      [minute(0, 4), minute(1, 9), minute(2, 7), minute(60, 3), minute(61, 100)],
    );
    const p = buildView(s, config, { area: "40", nowMs: now });
    expect(p.esign).toMatchObject({ exchanged: 210, signed: 201, target: 0.955 });
    expect(p.esign.rate).toBeCloseTo(201 / 210, 12);
    const c = buildView(s, config, { area: "16732", nowMs: now });
    expect(c.esign).toMatchObject({ exchanged: 10, signed: 10, rate: 1 });
    expect(c.egov).toMatchObject({ receivedToday: 100, onTime: 19, late: 1 });
    expect(c.egov.onlineShare).toBeCloseTo(0.8, 12);
    expect(c.egov.onlinePartialShare).toBeCloseTo(0.3, 12);
    expect(c.egov.ontimeRate).toBeCloseTo(19 / 20, 12); // rejected excluded
    // A commune with nothing today shows 0 received, and no ratio.
    expect(buildView(s, config, { area: "16681", nowMs: now }).egov).toMatchObject({ receivedToday: 0, ontimeRate: null });
    expect(p.egov.lastMinute).toBe(9);
    expect(p.egov.hour).toBe(9 + 7 + 3);
    expect(p.egov.series.xs.length).toBe(61);
    // Tomorrow (the gateway not yet past midnight): no "today" figure from yesterday's roll-up.
    expect(buildView(s, config, { area: "40", nowMs: now + 86_400_000 }).esign.exchanged).toBeNull();
  });

  it("BTS by technology; stations down longest first, named by commune and former district, today's map only", () => {
    const station = (source: string, id: string, area: string, status: string, agoMin: number) =>
      e("bts_station", { source, station: id }, { tech: "4G", area, status, since: new Date(now - agoMin * 60_000).toISOString() });
    const s = wallStore(
      [
        ["bts_stations", { source: "viettel", tech: "4G", area: "16732", status: "up" }, 100],
        ["bts_stations", { source: "viettel", tech: "4G", area: "16732", status: "down" }, 2],
        ["bts_stations", { source: "vinaphone", tech: "4G", area: "17506", status: "down" }, 1],
        ["bts_stations", { source: "viettel", tech: "5G", area: "16681", status: "degraded" }, 3],
        ["bts_stations", { source: "viettel", tech: "5G", area: "16681", status: "removed" }, 9],
      ],
      [
        station("viettel", "A", "16732", "down", 10),
        station("viettel", "B", "16732", "down", 150),
        station("vinaphone", "C", "17506", "down", 1),
        station("vinaphone", "D", "17506", "up", 400),
        station("viettel", "OLD", "426", "down", 9_000), // last heard by district: history
      ],
    );
    const v = buildView(s, config, { area: "40", nowMs: now });
    expect(v.bts.total).toBe(106); // removed stations are not stations
    expect(v.bts.down).toBe(3);
    expect(v.bts.rows.find((r) => r.tech === "5G")).toMatchObject({ degraded: 3, total: 3 });
    expect(v.alarms.rows.map((r) => [r.station, r.forMs])).toEqual([
      ["B", 150 * 60_000],
      ["A", 10 * 60_000],
      ["C", 60_000],
    ]);
    expect(v.alarms.rows[0]).toMatchObject({
      carrier: "Viettel",
      areaVi: "Phường Cửa Lò",
      formerVi: "Thành phố Vinh",
      formerEn: "Vinh City",
    });
    expect(v.alarms.rows[2]).toMatchObject({ areaVi: "Xã Yên Thành", formerVi: "Huyện Yên Thành" });
    expect(buildView(s, config, { area: "412", nowMs: now }).alarms.rows.map((r) => r.station)).toEqual(["B", "A"]);
    expect(buildView(s, config, { area: "17506", nowMs: now }).alarms.rows.map((r) => r.station)).toEqual(["C"]);
    expect(buildView(s, config, { area: "40", nowMs: null }).alarms.rows[0]!.forMs).toBeNull();
  });

  it("reporting completeness per feed: who reported within cadence, and the worst state", () => {
    const s = LiveStore.fromEntries([
      fresh("viettel", "subscribers"),
      fresh("vinaphone", "subscribers"),
      fresh("mobifone", "subscribers"),
      fresh("vietnamobile", "subscribers", "late", new Date(now - 1_200_000).toISOString()),
      fresh("viettel", "bts", "pipeline_behind"),
      fresh("dvc", "egov"),
    ]);
    const f = feedStates(s, config);
    expect(f.subscribers).toMatchObject({ state: "late", reported: 3, total: 4, kind: "carrier" });
    expect(f.bts).toMatchObject({ state: "pipeline_behind", reported: 0, total: 4 });
    expect(f.egov).toMatchObject({ state: "fresh", reported: 1, total: 1, kind: "system" });
    expect(f.esign).toMatchObject({ state: "unknown", reported: 0, total: 1 });
  });
});

describe("commune table", () => {
  it("one row per commune in force: subscribers, stations and down, dossiers, on-time, documents, carriers that reported", () => {
    const s = wallStore(
      [
        subs("viettel", "mobile", "16732", 500),
        subs("mobifone", "mobile", "16732", 300),
        subs("viettel", "mobile", "16681", 9000),
        ["bts_stations", { source: "viettel", tech: "4G", area: "16732", status: "up" }, 5],
        ["bts_stations", { source: "viettel", tech: "4G", area: "16732", status: "down" }, 2],
        ["bts_stations", { source: "viettel", tech: "4G", area: "17506", status: "down" }, 4],
        ["bts_stations", { source: "viettel", tech: "4G", area: "17506", status: "up" }, 1],
        [
          "egov_day",
          { day: today, source: "dvc", agency: "ubnd-xa", level: "commune", channel: "in_person", status: "received", area: "16732" },
          7,
        ],
        [
          "egov_day",
          {
            day: today,
            source: "dvc",
            agency: "ubnd-xa",
            level: "commune",
            channel: "in_person",
            status: "resolved_on_time",
            area: "16732",
          },
          3,
        ],
        [
          "egov_day",
          { day: today, source: "dvc", agency: "ubnd-xa", level: "commune", channel: "in_person", status: "resolved_late", area: "16732" },
          1,
        ],
        ["esign_day", { day: today, source: "edoc", agency: "ubnd-xa", area: "16732", signed: "true", signer: "personal" }, 12],
      ],
      [],
      [
        { area: "16732", source: "viettel" },
        { area: "16732", source: "mobifone" },
      ],
    );
    const rows = communeRows(s, config, { nowMs: now });
    expect(rows.length).toBe(130);
    expect(rows.find((r) => r.code === "16732")).toEqual({
      code: "16732",
      name: "Phường Cửa Lò",
      formerCode: "412",
      formerVi: "Thành phố Vinh",
      formerEn: "Vinh City",
      mobile: 800,
      bts: 7,
      btsDown: 2,
      received: 7,
      ontime: 0.75,
      esign: 12,
      reported: ["mobifone", "viettel"],
    });
    expect(rows.find((r) => r.code === "16690")).toMatchObject({ mobile: null, bts: null, received: 0, ontime: null, reported: [] });
    // Sorted by stations down, most first; a dash sorts last whichever way.
    const byDown = sortRows(rows, "btsDown", "desc");
    expect(byDown.slice(0, 2).map((r) => [r.code, r.btsDown])).toEqual([
      ["17506", 4],
      ["16732", 2],
    ]);
    expect(byDown.at(-1)!.btsDown).toBeNull();
    expect(sortRows(rows, "btsDown", "asc").at(-1)!.btsDown).toBeNull();
    expect(sortRows(rows, "mobile", "desc")[0]!.code).toBe("16681");
    expect(sortRows(rows, "name", "asc")[0]!.name.localeCompare(sortRows(rows, "name", "asc")[1]!.name, "vi")).toBeLessThanOrEqual(0);
    // 20 rows a page: 7 pages; pages wrap.
    expect(pageOf(rows, 0)).toMatchObject({ page: 0, pages: 7 });
    expect(pageOf(rows, 6).rows.length).toBe(10);
    expect(pageOf(rows, 7).page).toBe(0);
  });
});

describe("area picker", () => {
  const options = areaOptions(config, today);
  it("offers the province, then the 20 former districts each with its communes, 130 in all", () => {
    expect(options[0]).toMatchObject({ code: "40", scope: "province" });
    expect(options.filter((o) => o.scope === "former_district").length).toBe(20);
    expect(options.filter((o) => o.scope === "commune").length).toBe(130);
    const vinh = options.findIndex((o) => o.code === "412");
    const inVinh = options.slice(vinh + 1).findIndex((o) => o.scope === "former_district");
    expect(
      options
        .slice(vinh + 1, vinh + 1 + inVinh)
        .map((o) => o.code)
        .sort(),
    ).toEqual(
      mapOn(config, today)
        .formerDistricts.find((d) => d.district.code === "412")!
        .communes.map((c) => c.code)
        .sort(),
    );
  });

  it("finds communes without diacritics, đ included", () => {
    expect(foldText("Xã Nghĩa Đàn")).toBe("xa nghia dan");
    expect(searchAreas(options, "cua lo")[0]).toMatchObject({ code: "16732", name_vi: "Phường Cửa Lò" });
    expect(searchAreas(options, "nghia dan")[0]).toMatchObject({ name_vi: "Xã Nghĩa Đàn", scope: "commune" });
    expect(searchAreas(options, "NGHĨA ĐÀN").map((o) => o.name_vi)).toContain("Huyện Nghĩa Đàn");
    expect(searchAreas(options, "16732")[0]!.code).toBe("16732");
    expect(searchAreas(options, "")).toEqual([]);
    expect(searchAreas(options, "zzzz")).toEqual([]);
  });
});
