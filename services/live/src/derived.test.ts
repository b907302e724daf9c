import { describe, expect, it } from "vitest";
import { ftthCoverage } from "@pulse/contracts";
import { areaMap, localDay, provinceHouseholds } from "@pulse/seeds";
import { DerivedFigures, type Fields } from "./derived";
import { LiveState } from "./live-state";
import { mapOfDay } from "./map-of-day";

// The gateway's current figures from a state, on the clock's day: what is in force counts, the rest
// is history shown as a count. Dates relative to the test's clock (now), never a literal today.
const now = Date.now();
const today = localDay(now);
const daysAgo = (n: number) => localDay(now - n * 86_400_000);

function stateWith(entries: [string, Record<string, string>, number][]): LiveState {
  const s = new LiveState(0, () => true);
  let v = 0;
  for (const [metric, key, value] of entries) s.put(metric, key, value, ++v, 0, 0, false);
  return s;
}
const rollupOf = (out: ReturnType<DerivedFigures["compute"]>, scope: string, area: string) =>
  out.rollup.get(`${scope}|${area}`)?.value as Fields & { reported: string; day: string };
const kpiOf = (out: ReturnType<DerivedFigures["compute"]>, kpi: string, scope: string, area: string) =>
  out.kpi.get(`${kpi}|${scope}|${area}`)?.value;

describe("current figures are today's map", () => {
  it("district and commune gauges both present: the province is the communes alone", () => {
    const state = stateWith([
      // Old readings by district (the simulator before the change): history now.
      ["subscribers", { source: "viettel", service: "mobile", area: "412" }, 500_000],
      ["subscribers", { source: "viettel", service: "mobile", area: "426" }, 200_000],
      ["bts_stations", { source: "viettel", tech: "4G", area: "412", status: "up" }, 40],
      // Today's readings by commune.
      ["subscribers", { source: "viettel", service: "mobile", area: "16681" }, 90_000], // Phường Thành Vinh (412)
      ["subscribers", { source: "viettel", service: "mobile", area: "16732" }, 30_000], // Phường Cửa Lò (412)
      ["subscribers", { source: "mobifone", service: "mobile", area: "17506" }, 20_000], // Xã Yên Thành (426)
      ["subscribers", { source: "viettel", service: "ftth", area: "16732" }, 7_000],
      ["bts_stations", { source: "viettel", tech: "4G", area: "16732", status: "up" }, 3],
      ["bts_stations", { source: "viettel", tech: "4G", area: "16732", status: "down" }, 1],
      ["bts_stations", { source: "viettel", tech: "4G", area: "16732", status: "removed" }, 2],
    ]);
    const out = new DerivedFigures().compute(state, now);
    const province = rollupOf(out, "province", "40");
    expect(province.mobile).toBe(140_000);
    expect(province["mobile.viettel"]).toBe(120_000);
    expect(province.bts).toBe(4);
    expect(province.bts_down).toBe(1);
    expect(province.day).toBe(today);
    // The former district 412 (Vinh) is the sum of its communes: the district's own reading is not in it.
    expect(rollupOf(out, "former_district", "412").mobile).toBe(120_000);
    expect(rollupOf(out, "former_district", "426").mobile).toBe(20_000);
    expect(rollupOf(out, "commune", "16732")).toMatchObject({ mobile: 30_000, ftth: 7_000, bts: 4, bts_down: 1, "bts.4G.down": 1 });
    // The district gauges: counted, not summed.
    expect(out.rollup.get("retired|40")!.value).toEqual({ readings: 42, subscribers: 2, bts_stations: 40, esign: 0, egov: 0 });
    expect(out.rollup.has("district|412")).toBe(false);
    // FTTH coverage for the province only, against its 840,932 households; none per commune or former district.
    expect(kpiOf(out, "ftth_coverage", "province", "40")).toBe(ftthCoverage(7_000, provinceHouseholds));
    expect(out.kpi.has("ftth_coverage|commune|16732")).toBe(false);
    expect(out.kpi.has("ftth_coverage|former_district|412")).toBe(false);
    expect(out.kpi.get("ontime_rate|former_district|412")!.key).toEqual({ kpi: "ontime_rate", area: "412", scope: "former_district" });
    expect(out.kpi.get("ontime_rate|commune|16732")!.key).toEqual({ kpi: "ontime_rate", area: "16732" });
    // Every unit in force has its roll-up: 130 communes, 20 former districts, the province, the retired count.
    expect(out.rollup.size).toBe(130 + 20 + 1 + 1);
  });

  it("today's documents and dossiers by commune; the 30-day rate runs on across the cut-over per former district", () => {
    const old = "2025-06-20"; // before the cut-over: by district (history, beyond 30 days unless the clock says otherwise)
    const state = stateWith([
      ["esign_day", { day: today, source: "edoc", agency: "ubnd-xa", area: "16732", signed: "true", signer: "personal" }, 9],
      ["esign_day", { day: today, source: "edoc", agency: "ubnd-xa", area: "16732", signed: "false", signer: "personal" }, 1],
      ["esign_day", { day: today, source: "edoc", agency: "so-khcn", area: "40", signed: "true", signer: "organization" }, 5],
      ["esign_day", { day: daysAgo(3), source: "edoc", agency: "ubnd-xa", area: "16681", signed: "false", signer: "personal" }, 10],
      ["esign_day", { day: old, source: "edoc", agency: "ubnd-huyen", area: "412", signed: "true", signer: "personal" }, 100],
      [
        "egov_day",
        { day: today, source: "dvc", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received", area: "16732" },
        3,
      ],
      [
        "egov_day",
        { day: today, source: "dvc", agency: "ubnd-xa", level: "commune", channel: "in_person", status: "received", area: "16732" },
        1,
      ],
      [
        "egov_day",
        {
          day: today,
          source: "dvc",
          agency: "ubnd-xa",
          level: "commune",
          channel: "online_full",
          status: "resolved_on_time",
          area: "16732",
        },
        3,
      ],
      [
        "egov_day",
        { day: today, source: "dvc", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "resolved_late", area: "16732" },
        1,
      ],
      // An old simulator's district key dated today: history, counted only.
      [
        "egov_day",
        { day: today, source: "dvc", agency: "ubnd-huyen", level: "district", channel: "online_full", status: "received", area: "426" },
        7,
      ],
    ]);
    const out = new DerivedFigures().compute(state, now);
    expect(rollupOf(out, "commune", "16732")).toMatchObject({ esign: 10, esign_signed: 9, received: 4, on_time: 3, late: 1 });
    expect(rollupOf(out, "province", "40")).toMatchObject({ esign: 15, esign_signed: 14, received: 4 });
    expect(kpiOf(out, "ontime_rate", "commune", "16732")).toBe(0.75);
    expect(kpiOf(out, "online_share", "former_district", "412")).toBe(0.75);
    expect(kpiOf(out, "esign_rate", "province", "40")).toBe(14 / 15);
    // 30 days: the former district 412 = its communes' days (and its own district days within the window).
    const inWindow = old >= daysAgo(29);
    expect(kpiOf(out, "esign_rate_30d", "former_district", "412")).toBe(inWindow ? 109 / 120 : 9 / 20);
    expect(kpiOf(out, "esign_rate_30d", "commune", "16732")).toBe(0.9);
    expect(out.rollup.get("retired|40")!.value).toMatchObject({ egov: 7, readings: 7 });
  });

  it("moves to the next map at midnight by itself, and recomputes only what changed", () => {
    const state = stateWith([["subscribers", { source: "viettel", service: "mobile", area: "412" }, 500_000]]);
    const f = new DerivedFigures();
    // The clock on the last day of the districts: 412 is in force, its reading counts.
    const before = Date.parse("2025-06-30T23:59:00+07:00");
    const atCut = Date.parse("2025-07-01T00:01:00+07:00");
    expect(mapOfDay(areaMap, before).id).not.toBe(mapOfDay(areaMap, atCut).id);
    const a = f.compute(state, before);
    expect(rollupOf(a, "province", "40").mobile).toBe(500_000);
    expect(rollupOf(a, "district", "412").mobile).toBe(500_000);
    expect(a.rollup.has("former_district|412")).toBe(false);
    // Two minutes later, the same state: the district is history.
    const b = f.compute(state, atCut);
    expect(rollupOf(b, "province", "40").mobile).toBeUndefined();
    expect(b.rollup.get("retired|40")!.value).toMatchObject({ subscribers: 1 });
    // A change is seen once it is marked.
    state.put("subscribers", { source: "viettel", service: "mobile", area: "16732" }, 1_000, 99, 0, 0, true);
    f.invalidate(state.dirtyMetrics, state.dirty);
    expect(rollupOf(f.compute(state, atCut), "commune", "16732").mobile).toBe(1_000);
  });

  it("names the carriers that reported for each area today", () => {
    const f = new DerivedFigures();
    expect(
      f.setReported([
        { area: "16732", source: "viettel" },
        { area: "16732", source: "mobifone" },
        { area: "17506", source: "viettel" },
        { area: "426", source: "vinaphone" },
      ]),
    ).toBe(true);
    expect(
      f.setReported([
        { area: "17506", source: "viettel" },
        { area: "16732", source: "mobifone" },
        { area: "16732", source: "viettel" },
        { area: "426", source: "vinaphone" },
      ]),
    ).toBe(false);
    const out = f.compute(stateWith([]), now);
    expect(rollupOf(out, "commune", "16732").reported).toBe("mobifone,viettel");
    expect(rollupOf(out, "former_district", "412").reported).toBe("mobifone,viettel");
    expect(rollupOf(out, "commune", "16681").reported).toBe("");
    expect(rollupOf(out, "province", "40").reported).toBe("mobifone,viettel");
  });
});
