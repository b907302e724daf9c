import { describe, expect, it } from "vitest";
import { calendarClock, calendarInstant, testClockKind, utc7DayStart, withinOneDay } from "./calendar-clock";

const t = (iso: string) => Date.parse(iso);
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19);

describe("calendar clocks", () => {
  it("finds the most recent Sunday 02:00 UTC+7 before now", () => {
    // Sunday 2026-12-06 11:30 local: this very morning.
    expect(local(calendarInstant("sunday", t("2026-12-06T11:30:00+07:00")))).toBe("2026-12-06T02:00:00");
    // Sunday 01:00 local: a week back.
    expect(local(calendarInstant("sunday", t("2026-12-06T01:00:00+07:00")))).toBe("2026-11-29T02:00:00");
    // Saturday 18:00 UTC is already Sunday 01:00 in Nghệ An: still last week's.
    expect(local(calendarInstant("sunday", t("2026-12-05T18:00:00Z")))).toBe("2026-11-29T02:00:00");
    // Sunday 19:30 UTC (Monday 02:30 local): the Sunday that just ended.
    expect(local(calendarInstant("sunday", t("2026-12-06T19:30:00Z")))).toBe("2026-12-06T02:00:00");
  });

  it("finds the most recent working-day 10:00, skipping weekends and holidays", () => {
    expect(local(calendarInstant("weekday", t("2026-12-06T11:30:00+07:00")))).toBe("2026-12-04T10:00:00"); // Sunday → Friday
    expect(local(calendarInstant("weekday", t("2026-12-07T09:59:00+07:00")))).toBe("2026-12-04T10:00:00"); // Monday morning → Friday
    expect(local(calendarInstant("weekday", t("2026-12-07T10:00:01+07:00")))).toBe("2026-12-07T10:00:00");
    // National Day, Tuesday 1 and Wednesday 2 September 2026, are holidays: the Monday before.
    expect(local(calendarInstant("weekday", t("2026-09-02T15:00:00+07:00")))).toBe("2026-08-31T10:00:00");
  });

  it("finds the most recent 23:59:50 UTC+7, even seconds ago", () => {
    expect(local(calendarInstant("midnight", t("2026-12-06T11:30:00+07:00")))).toBe("2026-12-05T23:59:50");
    expect(local(calendarInstant("midnight", t("2026-12-06T00:00:05+07:00")))).toBe("2026-12-05T23:59:50");
    expect(local(calendarInstant("midnight", t("2026-12-05T23:59:49+07:00")))).toBe("2026-12-04T23:59:50");
  });

  it("runs at real speed from its instant, always in the past", () => {
    let real = t("2026-12-06T00:00:05+07:00");
    const c = calendarClock("midnight", () => real);
    expect(local(c.now())).toBe("2026-12-05T23:59:50");
    real += 12_000;
    expect(local(c.now())).toBe("2026-12-06T00:00:02"); // crossed midnight
    expect(c.now()).toBeLessThan(real);
  });

  it("reads PULSE_TEST_CLOCK, default sunday, naming the variable on a bad value", () => {
    expect(testClockKind({})).toBe("sunday");
    expect(testClockKind({ PULSE_TEST_CLOCK: "weekday" })).toBe("weekday");
    expect(testClockKind({ PULSE_TEST_CLOCK: "midnight" })).toBe("midnight");
    expect(() => testClockKind({ PULSE_TEST_CLOCK: "monday" })).toThrow(/PULSE_TEST_CLOCK/);
  });

  it("retries a read the day changed during, and names the day it saw", async () => {
    let now = t("2026-12-05T23:59:59+07:00");
    let reads = 0;
    const r = await withinOneDay({ now: () => now }, async () => {
      reads++;
      now += 2_000;
      return reads;
    });
    expect(r.value).toBe(2);
    expect(r.dayStart).toBe(utc7DayStart(t("2026-12-06T12:00:00+07:00")));
  });
});
