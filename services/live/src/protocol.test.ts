import { describe, expect, it } from "vitest";
import type { StateEntry } from "./live-state";
import { wants } from "./gateway";
import { parseRequest, type Subscription } from "./protocol";

const sub = (text: unknown): Subscription => {
  const r = parseRequest(JSON.stringify(text));
  if (r.op !== "subscribe") throw new Error(`not a subscribe: ${JSON.stringify(r)}`);
  return r.sub;
};
const entry = (metric: string, key: Record<string, string>, value: StateEntry["value"], prev?: StateEntry["value"]): StateEntry => ({
  metric,
  key,
  id: "",
  value,
  version: 1,
  seq: 1,
  at: 0,
  prev,
  json: null,
});

describe("parseRequest", () => {
  it("gives equal signatures to the same subscription written differently", () => {
    const a = sub({ op: "subscribe", id: "a", topics: ["feed", "kpi"], filter: { source: ["b", "a"], area: "40" } });
    const b = sub({ op: "subscribe", id: "b", topics: ["kpi", "feed"], filter: { area: ["40"], source: ["a", "b"] } });
    expect(a.signature).toBe(b.signature);
    expect(sub({ op: "subscribe", id: "c", topics: ["kpi"] }).signature).not.toBe(a.signature);
  });

  it("reads since only as a whole number ≥ 0", () => {
    expect(parseRequest('{"op":"subscribe","id":"a","topics":["feed"],"since":0}')).toMatchObject({ op: "subscribe", since: 0 });
    for (const since of [1.5, -1, "3", 2 ** 60]) {
      expect(parseRequest(JSON.stringify({ op: "subscribe", id: "a", topics: ["feed"], since }))).toMatchObject({ code: "bad_since" });
    }
  });

  it("names the unknown topic and lists the known ones", () => {
    const r = parseRequest('{"op":"subscribe","id":"a","topics":["feed","bts"]}');
    expect(r).toMatchObject({ op: "error", code: "unknown_topic" });
    expect((r as { message: string }).message).toMatch(/"bts".*bts_stations/);
  });
});

describe("filters", () => {
  it("match key fields, else the value's; a key that leaves the filter is still sent once", () => {
    const s = sub({ op: "subscribe", id: "a", topics: ["bts_station", "subscribers"], filter: { area: "413" } });
    expect(wants(s, entry("subscribers", { source: "x", service: "ftth", area: "413" }, 5))).toBe(true);
    expect(wants(s, entry("subscribers", { source: "x", service: "ftth", area: "412" }, 5))).toBe(false);
    expect(wants(s, entry("bts_station", { source: "x", station: "A" }, { tech: "4G", area: "413", status: "up", since: "" }))).toBe(true);
    // Moved from 413 to 412, or removed: its client must hear of it.
    const was = { tech: "4G", area: "413", status: "up", since: "" };
    expect(wants(s, entry("bts_station", { source: "x", station: "A" }, { ...was, area: "412" }, was))).toBe(true);
    expect(wants(s, entry("bts_station", { source: "x", station: "A" }, null, was))).toBe(true);
    expect(wants(s, entry("bts_station", { source: "x", station: "B" }, null))).toBe(false);
    expect(wants(s, entry("feed", { source: "x", feed: "bts" }, null))).toBe(false); // not a topic of it
  });
});
