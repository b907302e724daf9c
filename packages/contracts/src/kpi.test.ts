import { describe, expect, it } from "vitest";
import { provinceHouseholds } from "@pulse/seeds";
import { esignRate, ftthCoverage, kpiLabels, kpis, last30DaysStart, onlineFullShare, onlineShare, ontimeRate, todayStart } from "./kpi";

const day = (online_full: number, online_partial: number, in_person: number, resolvedOnTime = 0, resolvedLate = 0) => ({
  received: { online_full, online_partial, in_person },
  resolvedOnTime,
  resolvedLate,
});

describe("KPI formulas", () => {
  it("signing rate = signed / exchanged", () => {
    expect(esignRate({ signed: 955, exchanged: 1000 })).toBeCloseTo(0.955);
    expect(esignRate({ signed: 0, exchanged: 0 })).toBeNull();
  });
  it("online shares count received steps only", () => {
    expect(onlineShare(day(30, 50, 20))).toBeCloseTo(0.8);
    expect(onlineFullShare(day(30, 50, 20))).toBeCloseTo(0.3);
    expect(onlineShare(day(0, 0, 0))).toBeNull();
  });
  it("on-time rate excludes rejected", () => {
    expect(ontimeRate(day(0, 0, 0, 95, 5))).toBeCloseTo(0.95);
    expect(ontimeRate(day(0, 0, 0, 0, 0))).toBeNull();
  });
  it("FTTH coverage against the article's figures is 68 %", () => {
    expect(provinceHouseholds).toBe(840_932);
    expect(ftthCoverage(572_594, provinceHouseholds)).toBeCloseTo(0.6809, 4);
  });
  it("today and the 30-day window start at local midnight (UTC+7)", () => {
    const now = Date.parse("2026-11-26T03:00:00+07:00");
    expect(new Date(todayStart(now)).toISOString()).toBe("2026-11-25T17:00:00.000Z");
    expect(new Date(last30DaysStart(now)).toISOString()).toBe("2026-10-27T17:00:00.000Z");
  });
  it("labels every KPI in both languages", () => {
    for (const k of kpis) {
      expect(kpiLabels[k].vi.length).toBeGreaterThan(0);
      expect(kpiLabels[k].en.length).toBeGreaterThan(0);
    }
    expect(kpiLabels.ftth_coverage.target).toBe(0.68);
  });
});
