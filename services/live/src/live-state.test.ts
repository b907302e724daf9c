import { describe, expect, it } from "vitest";
import type { LiveChange } from "@pulse/contracts";
import { entryId, LiveState } from "./live-state";

const change = (id: number, entries: [string, number | null][], metric: LiveChange["metric"] = "subscribers"): LiveChange => ({
  change_id: id,
  metric,
  at: new Date(0).toISOString(),
  entries: entries.map(([area, value]) => ({ key: { source: "s", service: "mobile", area }, value })),
});
const value = (s: LiveState, area: string) => s.entries.get(entryId("subscribers", { source: "s", service: "mobile", area }))?.value;

describe("LiveState", () => {
  it("skips what the read already reflects (change id ≤ its base, even for keys it does not hold) and older versions", () => {
    const s = new LiveState(10, () => true);
    s.load(new Map([["subscribers", [{ key: { source: "s", service: "mobile", area: "1" }, value: 5 }]]]), 100, 7);
    expect(s.seq).toBe(7);
    // Seq 8 carries change 90, already in the read: neither the held key nor a key absent from the read (gone by change 100) moves.
    s.apply(
      change(90, [
        ["1", 1],
        ["2", 2],
      ]),
      8,
    );
    expect(value(s, "1")).toBe(5);
    expect(value(s, "2")).toBeUndefined();
    s.apply(change(102, [["1", 6]]), 9);
    s.apply(change(101, [["1", 4]]), 10); // a reordering: the older version loses
    expect(value(s, "1")).toBe(6);
    expect(s.seq).toBe(10);
    const { entries } = s.takeDirty();
    expect(entries.map((e) => [e.value, e.version, e.prev])).toEqual([[6, 102, 5]]);
    expect(s.takeDirty().entries).toEqual([]);
  });

  it("keeps a ring of recent messages, bounded in count and in bytes", () => {
    const s = new LiveState(3, () => true, 1_000);
    s.load(new Map(), 0, 0);
    for (let q = 1; q <= 5; q++) s.apply(change(q, [[String(q), q]]), q, 100);
    expect(s.ringFirst).toBe(3);
    expect(s.ringAfter(3)!.map((x) => x.seq)).toEqual([4, 5]);
    expect(s.ringAfter(1)).toBeNull(); // seq 2 is gone: the gap cannot be filled from here
    s.apply(change(6, [["6", 6]]), 6, 950); // one big message pushes the others out
    expect(s.ringFirst).toBe(6);
    expect(s.ringAfter(5)!.map((x) => x.seq)).toEqual([6]);
  });

  it("holds day keys only inside the window and prunes them when it moves", () => {
    let from = "2026-12-01";
    const s = new LiveState(0, (metric, key) => metric !== "esign_day" || key.day! >= from);
    s.load(new Map(), 0, 0);
    const day = (d: string, id: number) => ({
      change_id: id,
      metric: "esign_day" as const,
      at: new Date(0).toISOString(),
      entries: [{ key: { day: d, source: "edoc", agency: "a", area: "40", signed: "true", signer: "organization" }, value: 1 }],
    });
    s.apply(day("2026-11-30", 1), 1);
    s.apply(day("2026-12-02", 2), 2);
    expect(s.byMetric.get("esign_day")!.size).toBe(1);
    from = "2026-12-03";
    expect(s.prune()).toBe(1);
    expect(s.entries.size).toBe(0);
  });
});
