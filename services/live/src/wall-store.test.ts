import { describe, expect, it } from "vitest";
import { keyString as contractsKeyString } from "@pulse/contracts";
import { keyString, LiveStore, pruneOld, type Entry } from "../wall/lib/store.js";

const sub = (source: string, area: string, value: number | null, version: number): Entry => ({
  metric: "subscribers",
  key: { source, service: "mobile", area },
  value,
  version,
});

describe("wall store", () => {
  it("writes keys as contracts' keyString does, whatever the field order", () => {
    const k = { source: "viettel", service: "mobile", area: "412" };
    expect(keyString(k)).toBe(contractsKeyString(k));
    expect(keyString({ area: "412", source: "viettel", service: "mobile" })).toBe(keyString(k));
  });

  it("keeps the highest version per key: duplicates and reordering change nothing", () => {
    const s = new LiveStore();
    expect([...s.apply([sub("viettel", "412", 10, 5)])]).toEqual(["subscribers"]);
    expect(s.apply([sub("viettel", "412", 10, 5)]).size).toBe(0); // duplicate
    expect(s.apply([sub("viettel", "412", 7, 3)]).size).toBe(0); // older, late
    expect(s.get("subscribers", { source: "viettel", service: "mobile", area: "412" })).toBe(10);
    s.apply([sub("viettel", "412", 12, 6), sub("viettel", "412", 11, 4)]);
    expect(s.get("subscribers", { area: "412", service: "mobile", source: "viettel" })).toBe(12);
    expect(s.size).toBe(1);
  });

  it("the same entries in any order end in the same state", () => {
    const entries: Entry[] = [];
    for (let v = 1; v <= 40; v++) entries.push(sub(v % 3 ? "viettel" : "mobifone", String(412 + (v % 4)), v * 10, v));
    const a = LiveStore.fromEntries(entries);
    for (let round = 0; round < 20; round++) {
      const shuffled = [...entries].sort(() => Math.random() - 0.5);
      const b = new LiveStore();
      // Applied in random chunks, with duplicates.
      for (let i = 0; i < shuffled.length; i += 7) b.apply([...shuffled.slice(i, i + 7), ...shuffled.slice(0, 2)]);
      expect([...b.entries("subscribers")].sort((x, y) => x.version - y.version)).toEqual(
        [...a.entries("subscribers")].sort((x, y) => x.version - y.version),
      );
    }
  });

  it("a removal is a tombstone: an older value cannot bring the key back", () => {
    const s = new LiveStore();
    const st = (value: unknown, version: number): Entry => ({
      metric: "bts_station",
      key: { source: "viettel", station: "A" },
      value,
      version,
    });
    s.apply([st({ status: "down", area: "412", tech: "4G", since: "2026-12-03T01:00:00Z" }, 3)]);
    s.apply([st(null, 5)]);
    s.apply([st({ status: "down", area: "412", tech: "4G", since: "2026-12-03T01:00:00Z" }, 4)]);
    expect(s.get("bts_station", { source: "viettel", station: "A" })).toBeNull();
  });

  it("ignores malformed entries instead of throwing", () => {
    const s = new LiveStore();
    const bad = [null, {}, { metric: "x" }, { metric: "x", key: { a: "1" }, value: 1, version: "nope" }] as unknown as Entry[];
    expect(s.apply(bad).size).toBe(0);
    expect(s.size).toBe(0);
  });

  it("after forgetVersions the next value is taken whatever its version (another gateway's clock)", () => {
    const s = new LiveStore();
    const k = { kpi: "esign_rate", area: "40" };
    s.apply([{ metric: "kpi", key: k, value: 0.9, version: 2_000_000 }]);
    s.apply([{ metric: "kpi", key: k, value: 0.95, version: 1_000_000 }]);
    expect(s.get("kpi", k)).toBe(0.9);
    s.forgetVersions("kpi");
    expect(s.get("kpi", k)).toBe(0.9); // kept until replaced
    s.apply([{ metric: "kpi", key: k, value: 0.95, version: 1_000_000 }]);
    expect(s.get("kpi", k)).toBe(0.95);
  });

  it("prunes days before yesterday and minutes older than the sparkline's window: memory stays flat", () => {
    const s = new LiveStore();
    const now = Date.parse("2026-12-03T07:00:00Z");
    let version = 0;
    // A long run: 10 days of day keys and a day of minutes, pruned as the wall does every render.
    for (let d = 0; d < 10; d++) {
      const day = new Date(now - (9 - d) * 86_400_000).toISOString().slice(0, 10); // 2026-11-24 … 2026-12-03
      s.apply([
        {
          metric: "esign_day",
          key: { day, source: "edoc", agency: "a", area: "40", signed: "true", signer: "personal" },
          value: 1,
          version: ++version,
        },
      ]);
    }
    for (let m = 0; m < 1440; m++) {
      s.apply([{ metric: "egov_minute", key: { minute: new Date(now - m * 60_000).toISOString() }, value: 1, version: ++version }]);
    }
    pruneOld(s, { today: "2026-12-03", yesterday: "2026-12-02", nowMs: now });
    expect([...s.entries("esign_day")].map((e) => e.key.day).sort()).toEqual(["2026-12-02", "2026-12-03"]);
    expect([...s.entries("egov_minute")].length).toBe(76); // 75 minutes back, and this one
  });

  it("a subscription's snapshot replaces its topics only, whole", () => {
    const s = LiveStore.fromEntries([
      sub("viettel", "412", 10, 5),
      sub("viettel", "413", 20, 6), // gone from the next snapshot
      { metric: "bts_station", key: { source: "viettel", station: "A" }, value: { status: "down" }, version: 7 },
    ]);
    // A reset snapshot may carry lower versions (another stream): it is taken as it is.
    s.replaceMetrics(["subscribers", "kpi"], [sub("viettel", "412", 11, 2)]);
    expect([...s.entries("subscribers")].map((e) => [e.key.area, e.value])).toEqual([["412", 11]]);
    expect([...s.entries("kpi")]).toEqual([]);
    expect(s.get("bts_station", { source: "viettel", station: "A" })).toEqual({ status: "down" });
    // Afterwards the usual rule: a duplicate of the snapshot's version changes nothing.
    expect(s.apply([sub("viettel", "412", 99, 2)]).size).toBe(0);
  });
});
