import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPulse } from "@pulse/cli/testing";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";

// Figures stored by district and dated after 2025-07-01 (what every demo and test database that
// ran the old simulator holds) are found by `pulse areas retired`, counted per table and moved
// aside; history (districts on their own dates) and today's communes stay; `replay` does not
// bring them back. "Today" is this test's clock.
describe("pulse areas retired", () => {
  let h: Harness;
  let env: Record<string, string>;
  const hour = 3_600_000;
  const at = (ms: number) => `${new Date(ms + 7 * hour).toISOString().slice(0, 19)}+07:00`;
  const now = Date.now() - 60_000;
  const today = at(now).slice(0, 10);
  const districtEgov = { procedure: "p1", agency: "ubnd-huyen", level: "district", channel: "online_full", status: "received" };

  beforeAll(async () => {
    h = await ingestHarness("cli_areas_retired");
    env = { DATABASE_URL: h.database.url, NATS_URL: h.config.natsUrl, PULSE_NAMESPACE: h.names.namespace! };
    // Through today's ingest: communes today, and a district on a day it was in force.
    await h.publish("subscribers", "viettel", make.subscribers("c-1", "mobile", 700, { area: "17506", ts: at(now) }));
    await h.publish("bts", "viettel", make.bts("c-2", "YT-2", "up", { area: "17506", ts: at(now) }));
    await h.publish("subscribers", "viettel", make.subscribers("h-1", "mobile", 1_234, { area: "426", ts: "2025-05-01T09:00:00+07:00" }));
    await h.publish("egov", "dvc", { id: "h-2:received", area: "426", ts: "2025-06-30T09:00:00+07:00", data: districtEgov });
    await h.publish("esign", "edoc", make.esign("c-3", true, { area: "40", ts: at(now) }));
    await h.settle();
    expect((await h.figures()).deadLetters).toEqual([]);
    // As the old simulator and decoder stored them: districts' codes dated today and yesterday.
    await h.storeUndecoded("subscribers", "viettel", [
      make.subscribers("old-1", "mobile", 9_000, { area: "412", ts: at(now - 24 * hour) }),
      make.subscribers("old-2", "mobile", 9_100, { area: "412", ts: at(now) }),
      make.subscribers("old-3", "ftth", 300, { area: "426", ts: at(now) }),
    ]);
    await h.storeUndecoded("bts", "mobifone", [make.bts("old-4", "OLD-1", "down", { area: "426", ts: at(now) })]);
    await h.storeUndecoded("esign", "edoc", [make.esign("old-5", true, { area: "412", ts: at(now), agency: "so-tttt" })]);
    await h.storeUndecoded("egov", "dvc", [{ id: "old-6:received", area: "426", ts: at(now), data: districtEgov }]);
    await h.settle();
  });
  afterAll(async () => {
    await h?.close();
  });

  const expected = { events: 6, subscriber_gauges: 2, bts_stations: 1, esign_counts: 3, egov_counts: 3 };

  it("--dry-run counts them per table and changes nothing", async () => {
    const before = await h.figures();
    const r = await runPulse(["areas", "retired", "--dry-run", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    expect(out).toMatchObject({ dry_run: true, tables: expected, total: 15 });
    expect(out.areas).toContainEqual({
      feed: "subscribers",
      table: "events",
      area: "412",
      rows: 2,
      first_day: at(now - 24 * hour).slice(0, 10),
      last_day: today,
    });
    expect(await h.figures()).toEqual(before);
    expect(await h.count("retired_rows")).toBe(0);
    const text = await runPulse(["areas", "retired", "--dry-run"], env);
    expect(text.stdout).toMatch(/^412 +Thành phố Vinh /m);
    expect(text.stdout).toMatch(
      /would retire 15 rows held in areas not in force on their own day: events 6, subscriber_gauges 2, bts_stations 1, esign_counts 3, egov_counts 3 \(dry run: nothing changed\)/,
    );
  });

  it("moves them to retired_rows: today's communes and the districts' own history stay, a second run finds nothing", async () => {
    const r = await runPulse(["areas", "retired", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ dry_run: false, tables: expected, total: 15 });
    await h.settle();
    const f = await h.figures();
    expect(f.subscribers).toEqual([
      { source: "viettel", service: "mobile", area: "17506", count: 700 },
      { source: "viettel", service: "mobile", area: "426", count: 1_234 },
    ]);
    expect(f.stations).toEqual([{ source: "viettel", station: "YT-2", tech: "4G", area: "17506", status: "up" }]);
    expect(f.esign.map((x) => x.area)).toEqual(["40", "40", "40"]);
    expect(f.egov.map((x) => [x.area, x.bucket.toISOString().slice(0, 10)])).toEqual([
      ["426", "2025-06-29"],
      ["426", "2025-06-30"],
      ["426", "2025-06-30"],
    ]);
    expect(await h.count("events", "id LIKE 'old-%'")).toBe(0);
    expect(await h.count("retired_rows")).toBe(15);
    // Kept whole: a retired row reads back as it was.
    const kept = (await h.db.pool.query("SELECT row FROM retired_rows WHERE table_name = 'subscriber_gauges' AND area = '426'")).rows;
    expect(kept).toEqual([
      { row: expect.objectContaining({ source: "viettel", service: "ftth", area: "426", count: 300, event_id: "old-3" }) },
    ]);
    // Live screens are told the keys are gone.
    const told = (await h.db.pool.query("SELECT entries FROM changes WHERE metric = 'subscribers' ORDER BY id DESC LIMIT 1")).rows[0]
      .entries as unknown[];
    expect(told).toEqual(expect.arrayContaining([{ key: { source: "viettel", service: "ftth", area: "426" }, value: null }]));
    const again = await runPulse(["areas", "retired"], env);
    expect(again.stdout).toBe("no rows held in an area out of force on their own day\n");
  });

  it("replay rebuilds from the events as they are, without judging areas: the retired rows stay out", async () => {
    const before = await h.figures();
    const r = await runPulse(["replay", "--from", today, "--to", today, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().changed).toBe(0);
    expect(await h.figures()).toEqual(before);
    const help = await runPulse(["replay", "--help"], env);
    expect(help.stdout.replace(/\s+/g, " ")).toMatch(/without judging their areas again/);
  });
});
