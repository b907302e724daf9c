import { describe, expect, it } from "vitest";
import { calendar } from "@pulse/seeds";
import { freshness, isOfficeTime, localDayStart, officeTimeBetween } from "./freshness";

const t = (iso: string) => Date.parse(iso);
const s = 1000;

describe("freshness (round the clock)", () => {
  const base = { cadenceS: 60 };
  const last = t("2026-11-26T10:00:00+07:00");
  it("is fresh until one cadence past due, late until three, then silent", () => {
    expect(freshness({ ...base, now: last + 30 * s, lastReceivedAt: last })).toBe("fresh");
    expect(freshness({ ...base, now: last + 120 * s, lastReceivedAt: last })).toBe("fresh");
    expect(freshness({ ...base, now: last + 121 * s, lastReceivedAt: last })).toBe("late");
    expect(freshness({ ...base, now: last + 240 * s, lastReceivedAt: last })).toBe("late");
    expect(freshness({ ...base, now: last + 241 * s, lastReceivedAt: last })).toBe("silent");
  });
  it("clears as soon as a message arrives again", () => {
    const now = last + 3600 * s;
    expect(freshness({ ...base, now, lastReceivedAt: last })).toBe("silent");
    expect(freshness({ ...base, now, lastReceivedAt: now - 1 * s })).toBe("fresh");
  });
  it("is silent when nothing was ever received", () => {
    expect(freshness({ ...base, now: last, lastReceivedAt: null })).toBe("silent");
  });
  it("blames the pipeline, not the producer, while ingest is behind", () => {
    expect(freshness({ ...base, now: last + 1000 * s, lastReceivedAt: last, pipelineBehind: true })).toBe("pipeline_behind");
    expect(freshness({ ...base, now: last + 200 * s, lastReceivedAt: last, pipelineBehind: true })).toBe("pipeline_behind");
    expect(freshness({ ...base, now: last + 10 * s, lastReceivedAt: last, pipelineBehind: true })).toBe("fresh");
  });
  it("refuses a non-positive cadence", () => {
    expect(() => freshness({ cadenceS: 0, now: last, lastReceivedAt: last })).toThrow(/cadence/);
  });
});

describe("freshness (office hours)", () => {
  const base = { cadenceS: 120, officeHours: true, calendar };
  it("knows the office calendar (Mon–Fri 07:30–17:00 UTC+7, holidays off)", () => {
    expect(isOfficeTime(t("2026-11-26T07:30:00+07:00"), calendar)).toBe(true); // Thursday
    expect(isOfficeTime(t("2026-11-26T07:29:59+07:00"), calendar)).toBe(false);
    expect(isOfficeTime(t("2026-11-26T16:59:59+07:00"), calendar)).toBe(true);
    expect(isOfficeTime(t("2026-11-26T17:00:00+07:00"), calendar)).toBe(false);
    expect(isOfficeTime(t("2026-11-28T10:00:00+07:00"), calendar)).toBe(false); // Saturday
    expect(isOfficeTime(t("2026-09-02T10:00:00+07:00"), calendar)).toBe(false); // National Day
    expect(isOfficeTime(t("2026-09-03T10:00:00+07:00"), calendar)).toBe(true);
  });
  it("stays fresh overnight, however long since the last message", () => {
    const last = t("2026-11-26T16:30:00+07:00");
    for (const now of [
      "2026-11-26T17:00:00+07:00",
      "2026-11-26T23:00:00+07:00",
      "2026-11-27T03:00:00+07:00",
      "2026-11-27T07:29:00+07:00",
    ]) {
      expect(freshness({ ...base, now: t(now), lastReceivedAt: last })).toBe("fresh");
    }
    // …and through the weekend.
    expect(freshness({ ...base, now: t("2026-11-29T12:00:00+07:00"), lastReceivedAt: t("2026-11-27T16:59:00+07:00") })).toBe("fresh");
  });
  it("counts office time only: quiet since the last half hour of the day, late soon after opening", () => {
    const last = t("2026-11-26T16:55:00+07:00"); // 5 min of office time left that day
    expect(freshness({ ...base, now: t("2026-11-27T07:30:30+07:00"), lastReceivedAt: last })).toBe("late");
    const lastMinute = t("2026-11-26T16:59:30+07:00"); // 30 s left
    expect(freshness({ ...base, now: t("2026-11-27T07:31:00+07:00"), lastReceivedAt: lastMinute })).toBe("fresh");
    expect(freshness({ ...base, now: t("2026-11-27T07:34:00+07:00"), lastReceivedAt: lastMinute })).toBe("late");
    expect(freshness({ ...base, now: t("2026-11-27T07:38:00+07:00"), lastReceivedAt: lastMinute })).toBe("silent");
  });
  it("turns late then silent inside office hours like any source", () => {
    const last = t("2026-11-26T09:00:00+07:00");
    expect(freshness({ ...base, now: last + 240 * s, lastReceivedAt: last })).toBe("fresh");
    expect(freshness({ ...base, now: last + 241 * s, lastReceivedAt: last })).toBe("late");
    expect(freshness({ ...base, now: last + 481 * s, lastReceivedAt: last })).toBe("silent");
  });
  it("never heard from: silent in office hours, fresh outside", () => {
    expect(freshness({ ...base, now: t("2026-11-26T09:00:00+07:00"), lastReceivedAt: null })).toBe("silent");
    expect(freshness({ ...base, now: t("2026-11-26T22:00:00+07:00"), lastReceivedAt: null })).toBe("fresh");
  });
  it("bounds the office-time loop for a source silent for years", () => {
    expect(officeTimeBetween(t("2000-01-01T00:00:00Z"), t("2026-11-26T10:00:00+07:00"), calendar, 1000)).toBeGreaterThan(1000);
  });
});

describe("localDayStart", () => {
  it("is local midnight in UTC+7", () => {
    expect(new Date(localDayStart(t("2026-11-26T00:30:00+07:00"))).toISOString()).toBe("2026-11-25T17:00:00.000Z");
    expect(new Date(localDayStart(t("2026-11-25T23:59:59+07:00"))).toISOString()).toBe("2026-11-24T17:00:00.000Z");
  });
});
