/**
 * A map change is a seeds change: this test writes a seeds directory (a copy of seeds/data with
 * areas.json edited) in which, from yesterday on this test's clock, Phường Thành Vinh (16681)
 * takes in Phường Trường Vinh (16690): 16681 keeps its code with a wider extent (its old version
 * ends the day before yesterday, a new one begins yesterday), 16690 retires. A real ingest
 * process pointed at it with PULSE_SEEDS_DIR refuses 16690 dated today as retired_area naming
 * 16681 (stored and told on rejects.<source>), takes 16690 on the day it was still in force, and
 * keeps 16681's series running across the change under one key. Only JSON is written.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { decode } from "@pulse/contracts";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { dayOf, localDayNumber, type Area, type Succession } from "@pulse/seeds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnIngest, type IngestProcess } from "./support/ingest-process";

const hour = 3_600_000;
const at = (ms: number) => `${new Date(ms + 7 * hour).toISOString().slice(0, 19)}+07:00`;
const now = Date.now() - 60_000;
const todayNum = localDayNumber(now);
const today = dayOf(todayNum);
const yesterday = dayOf(todayNum - 1);
const dayBefore = dayOf(todayNum - 2);
/** Noon UTC+7 of the day before yesterday: when both wards were still in force as they were. */
const before = Date.parse(`${dayBefore}T12:00:00+07:00`);

const survivor = "16681"; // Phường Thành Vinh
const retired = "16690"; // Phường Trường Vinh
const seedsData = resolve(import.meta.dirname, "..", "seeds", "data");

/** seeds/data copied, with the merger written into areas.json. Returns the directory. */
function seedsWithMerger(): string {
  const dir = mkdtempSync(join(tmpdir(), "pulse-seeds-"));
  cpSync(seedsData, dir, { recursive: true });
  const file = join(dir, "areas.json");
  const json = JSON.parse(readFileSync(file, "utf8")) as { areas: Area[]; successions: Succession[] };
  const a = json.areas.find((x) => x.code === survivor && x.valid_to === null)!;
  const b = json.areas.find((x) => x.code === retired && x.valid_to === null)!;
  expect([a, b].map((x) => x.valid_from)).toEqual(["2025-07-01", "2025-07-01"]);
  a.valid_to = dayBefore;
  b.valid_to = dayBefore;
  json.areas.push({ ...a, valid_from: yesterday, valid_to: null });
  json.successions.push({ code: retired, from: yesterday, into: [survivor], by: "a merger written by test/map-change-seeds.test.ts" });
  writeFileSync(file, JSON.stringify(json, null, 2));
  return dir;
}

describe("a map change is a seeds change", () => {
  let h: Harness;
  let ingest: IngestProcess;
  let seedsDir: string;
  beforeAll(async () => {
    seedsDir = seedsWithMerger();
    h = await ingestHarness("map_change", { start: false });
    ingest = await spawnIngest({
      DATABASE_URL: h.database.url,
      NATS_URL: h.config.natsUrl,
      PULSE_NAMESPACE: h.names.namespace!,
      PULSE_SEEDS_DIR: seedsDir,
    });
  });
  afterAll(async () => {
    await ingest?.kill();
    await h?.close();
    if (seedsDir) rmSync(seedsDir, { recursive: true, force: true });
  });

  it("writes only JSON: the directory differs from seeds/data in areas.json alone", () => {
    const files = (d: string) => readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const names = files(seedsDir).map((e) => join(e.parentPath, e.name).slice(seedsDir.length));
    expect(names.sort()).toEqual(
      files(seedsData)
        .map((e) => join(e.parentPath, e.name).slice(seedsData.length))
        .sort(),
    );
    const changed = names.filter((n) => !readFileSync(join(seedsDir, n)).equals(readFileSync(join(seedsData, n))));
    expect(changed).toEqual(["/areas.json"]);
    // This process reads the repository's seeds: there, 16690 dated today is still in force.
    const r = decode({
      subject: "feeds.subscribers.viettel",
      payload: new TextEncoder().encode(
        JSON.stringify({ v: 1, id: "x", source: "viettel", ts: at(now), area: retired, data: { service: "mobile", count: 1 } }),
      ),
      receivedMs: Date.now(),
    });
    expect(r.ok).toBe(true);
  });

  it("refuses the retired ward dated today naming the survivor, and keeps the survivor's series under one key", async () => {
    // Before the merger: both wards in force.
    await h.publish("subscribers", "viettel", make.subscribers("a-before", "mobile", 100, { area: survivor, ts: at(before) }));
    await h.publish("subscribers", "viettel", make.subscribers("b-before", "mobile", 40, { area: retired, ts: at(before) }));
    await h.publish("egov", "dvc", make.egov("a-before:received", "received", { area: survivor, ts: at(before) }));
    // After it: the survivor, wider, and the retired one refused.
    await h.publish("subscribers", "viettel", make.subscribers("a-today", "mobile", 150, { area: survivor, ts: at(now) }));
    await h.publish("subscribers", "viettel", make.subscribers("b-today", "mobile", 45, { area: retired, ts: at(now) }));
    await h.publish("egov", "dvc", make.egov("a-today:received", "received", { area: survivor, ts: at(now) }));
    await h.settle();

    const detail = `area ${retired} (Phường Trường Vinh) is not in force since ${yesterday}; on ${today} its ground is in ${survivor} Phường Thành Vinh: send the code of one of these`;
    const letters = (await h.db.pool.query("SELECT subject, event_id, reason, detail FROM dead_letters")).rows;
    expect(letters).toEqual([{ subject: "feeds.subscribers.viettel", event_id: "b-today", reason: "retired_area", detail }]);
    for (let until = Date.now() + 5_000; h.rejects.length === 0 && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
    expect(h.rejects).toEqual([
      { subject: `${h.names.rejectsPrefix}.viettel`, body: expect.objectContaining({ id: "b-today", reason: "retired_area", detail }) },
    ]);

    // The survivor's gauge is one key, before and after: the latest reading, today's.
    const f = await h.figures();
    expect(f.subscribers).toEqual([
      { source: "viettel", service: "mobile", area: survivor, count: 150 },
      { source: "viettel", service: "mobile", area: retired, count: 40 },
    ]);
    expect(f.egov.filter((x) => x.grain === "day").map((x) => [x.bucket.toISOString().slice(0, 10), x.area, x.count])).toEqual([
      [new Date(Date.parse(`${dayBefore}T00:00:00+07:00`)).toISOString().slice(0, 10), survivor, 1],
      [new Date(Date.parse(`${today}T00:00:00+07:00`)).toISOString().slice(0, 10), survivor, 1],
    ]);
    expect(await h.count("events", `area = '${survivor}'`)).toBe(4);
  });
});
