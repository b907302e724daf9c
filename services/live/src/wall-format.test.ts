import { describe, expect, it } from "vitest";
import { formatDate, formatDuration, formatInt, formatPercent, formatTime, formatWeekday, localDay } from "../wall/lib/format.js";
import { labels, pickLanguage, t } from "../wall/lib/i18n.js";
import { ServerClock } from "../wall/lib/server-clock.js";

describe("wall formats", () => {
  it("writes numbers the Vietnamese way by default, the English way on the toggle", () => {
    expect(formatInt(3_128_167, "vi")).toBe("3.128.167");
    expect(formatInt(3_128_167, "en")).toBe("3,128,167");
    expect(formatInt(0, "vi")).toBe("0");
    expect(formatPercent(0.955, "vi")).toBe("95,5\u00a0%");
    expect(formatPercent(0.955, "en")).toBe("95.5%");
    expect(formatPercent(0.68, "vi", 0)).toBe("68\u00a0%");
    expect(formatPercent(572_594 / 840_932, "vi")).toBe("68,1\u00a0%");
  });

  it("shows a dash for no figure, never 0 and never blank", () => {
    for (const v of [null, undefined, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(formatInt(v, "vi")).toBe("—");
      expect(formatPercent(v, "en")).toBe("—");
    }
  });

  it("dates and times are UTC+7, dd/MM/yyyy, whatever the machine's zone", () => {
    const ms = Date.parse("2026-12-31T17:05:09Z"); // 00:05:09 on 1 January 2027 in Vinh
    expect(formatDate(ms)).toBe("01/01/2027");
    expect(formatTime(ms)).toBe("00:05:09");
    expect(localDay(ms)).toBe("2027-01-01");
    expect(formatWeekday(ms, "vi")).toBe("Thứ sáu");
    expect(formatWeekday(ms, "en")).toBe("Friday");
    expect(localDay(Date.parse("2026-12-03T16:59:59Z"))).toBe("2026-12-03");
    expect(localDay(Date.parse("2026-12-03T17:00:00Z"))).toBe("2026-12-04");
  });

  it("durations tick in seconds, then hours, then days", () => {
    expect(formatDuration(0, "vi")).toBe("0:00");
    expect(formatDuration(-5000, "vi")).toBe("0:00");
    expect(formatDuration(65_000, "vi")).toBe("1:05");
    expect(formatDuration(3_600_000 + 65_000, "vi")).toBe("1:01:05");
    expect(formatDuration(2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000 + 5_000, "vi")).toBe("2\u00a0ngày 03:04:05");
    expect(formatDuration(86_400_000, "en")).toBe("1\u00a0d 00:00:00");
  });
});

describe("wall labels", () => {
  it("every label has both languages, and no placeholder is lost in translation", () => {
    for (const [key, l] of Object.entries(labels)) {
      expect(l.vi, key).toBeTruthy();
      expect(l.en, key).toBeTruthy();
      const names = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(names(l.en), key).toEqual(names(l.vi));
    }
  });

  it("fills placeholders, and a missing key is an error, not a raw key on the wall", () => {
    expect(t("vi", "reported_carrier", { n: 3, total: 4 })).toBe("3/4 nhà mạng đã báo cáo");
    expect(t("en", "reported_carrier", { n: 3, total: 4 })).toBe("3/4 carriers reported");
    expect(t("vi", "conn_lost")).toBe("Mất kết nối — đang kết nối lại");
    expect(() => t("vi", "no_such_label")).toThrow(/no label/);
  });

  it("Vietnamese unless the URL or the last choice says English", () => {
    expect(pickLanguage(null, null)).toBe("vi");
    expect(pickLanguage(null, "en")).toBe("en");
    expect(pickLanguage("vi", "en")).toBe("vi");
    expect(pickLanguage("fr", "xx")).toBe("vi");
  });
});

describe("server clock", () => {
  it("is the last heartbeat's time moved on by monotonic time, unknown before one", () => {
    let mono = 1000;
    const c = new ServerClock(() => mono);
    expect(c.now()).toBeNull();
    c.set("2026-12-03T07:00:00.000Z");
    mono += 2500;
    expect(c.now()).toBe(Date.parse("2026-12-03T07:00:02.500Z"));
    c.set("not a time");
    expect(c.now()).toBe(Date.parse("2026-12-03T07:00:02.500Z"));
    c.set("2026-12-03T06:00:00.000Z"); // the server's clock stepped back: the wall follows it
    expect(c.now()).toBe(Date.parse("2026-12-03T06:00:00.000Z"));
  });
});
