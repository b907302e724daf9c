import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "@pulse/db";
import { ingestHarness, make, type Harness } from "./test-harness";

let h: Harness;
beforeAll(async () => {
  h = await ingestHarness("figures");
});
afterAll(async () => {
  await h?.close();
});

describe("figures", () => {
  it("counts two sources that use the same id separately", async () => {
    await h.publish("subscribers", "viettel", make.subscribers("1", "mobile", 500));
    await h.publish("subscribers", "mobifone", make.subscribers("1", "mobile", 300));
    await h.settle();
    const f = await h.figures();
    expect(f.subscribers).toEqual([
      { source: "mobifone", service: "mobile", area: "16681", count: 300 },
      { source: "viettel", service: "mobile", area: "16681", count: 500 },
    ]);
  });

  it("refuses a publish to an unknown feed at once (no stream takes it)", async () => {
    const started = Date.now();
    await expect(h.js.publish(h.subject("weather", "viettel"), "{}", { timeout: 2_000 })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("keeps the latest gauge whatever the arrival order, compared by (ts, revision, id)", async () => {
    await h.publish("subscribers", "vinaphone", make.subscribers("g-3", "ftth", 30, { ts: "2026-11-26T10:00:00+07:00", area: "16732" }));
    await h.publish("subscribers", "vinaphone", make.subscribers("g-1", "ftth", 10, { ts: "2026-11-26T08:00:00+07:00", area: "16732" }));
    await h.settle();
    await h.publish("subscribers", "vinaphone", make.subscribers("g-2", "ftth", 20, { ts: "2026-11-26T09:00:00+07:00", area: "16732" }));
    await h.settle();
    const f = await h.figures();
    expect(f.subscribers.find((r) => r.source === "vinaphone")).toEqual({ source: "vinaphone", service: "ftth", area: "16732", count: 30 });
  });

  it("replaces a restated gauge reading, even one that moves back in time", async () => {
    // g-3 (10:00, 30) holds the gauge; its revision 1 says 35.
    await h.publish(
      "subscribers",
      "vinaphone",
      make.subscribers("g-3", "ftth", 35, { ts: "2026-11-26T10:00:00+07:00", area: "16732", revision: 1 }),
    );
    await h.settle();
    expect((await h.figures()).subscribers.find((r) => r.source === "vinaphone")!.count).toBe(35);
    // Revision 2 moves the reading to 07:00: the latest reading is now g-2 (09:00, 20).
    await h.publish(
      "subscribers",
      "vinaphone",
      make.subscribers("g-3", "ftth", 99, { ts: "2026-11-26T07:00:00+07:00", area: "16732", revision: 2 }),
    );
    await h.settle();
    expect((await h.figures()).subscribers.find((r) => r.source === "vinaphone")!.count).toBe(20);
    // A lower or equal revision changes nothing.
    await h.publish(
      "subscribers",
      "vinaphone",
      make.subscribers("g-3", "ftth", 1, { ts: "2026-11-26T11:00:00+07:00", area: "16732", revision: 1 }),
      { msgId: false },
    );
    await h.settle();
    expect((await h.figures()).subscribers.find((r) => r.source === "vinaphone")!.count).toBe(20);
  });

  it("takes a restated event's old contribution out of every bucket and puts the new one in", async () => {
    await h.publish("esign", "edoc", make.esign("doc-7", true, { ts: "2026-11-26T09:15:00+07:00" }));
    await h.settle();
    await h.publish("esign", "edoc", make.esign("doc-7", false, { ts: "2026-11-26T10:30:00+07:00", revision: 1, agency: "so-yte" }));
    await h.settle();
    const f = await h.figures();
    expect(f.esign.map((r) => [r.grain, (r.bucket as Date).toISOString(), r.agency, r.signed, r.count])).toEqual([
      ["day", "2026-11-25T17:00:00.000Z", "so-yte", false, 1],
      ["hour", "2026-11-26T03:00:00.000Z", "so-yte", false, 1],
      ["minute", "2026-11-26T03:30:00.000Z", "so-yte", false, 1],
    ]);
  });

  it("lands an event hours late in its own bucket, and a day in UTC+7", async () => {
    await h.publish("egov", "dvc", make.egov("d-late:received", "received", { ts: "2026-11-26T09:00:00+07:00" }));
    await h.publish("egov", "dvc", make.egov("d-now:received", "received", { ts: new Date().toISOString() }));
    // 23:30 on the 25th in Vietnam is 16:30 UTC: it belongs to the 25th, not the 26th.
    await h.publish("egov", "dvc", make.egov("d-night:received", "received", { ts: "2026-11-25T23:30:00+07:00" }));
    await h.settle();
    const f = await h.figures();
    const days = f.egov.filter((r) => r.grain === "day").map((r) => [(r.bucket as Date).toISOString(), r.count]);
    expect(days).toContainEqual(["2026-11-24T17:00:00.000Z", 1]);
    expect(days).toContainEqual(["2026-11-25T17:00:00.000Z", 1]);
    expect(f.egov.filter((r) => r.grain === "hour").map((r) => (r.bucket as Date).toISOString())).toContain("2026-11-26T02:00:00.000Z");
  });

  it("keeps a nanosecond time in its own day: the last instant of the 24th stays on the 24th", async () => {
    // Postgres keeps microseconds and would round .9999996 up into the 25th.
    await h.publish("egov", "dvc", make.egov("d-nano:received", "received", { ts: "2026-11-24T23:59:59.9999996+07:00", area: "16732" }));
    await h.settle();
    const days = (await h.figures()).egov
      .filter((r) => r.grain === "day" && r.area === "16732")
      .map((r) => [(r.bucket as Date).toISOString(), r.count]);
    expect(days).toEqual([["2026-11-23T17:00:00.000Z", 1]]);
  });

  it("dates a station's status from the first reading of its current run, whatever the arrival", async () => {
    const since = async (station: string) =>
      (
        await sql<{ status: string; since: Date }>`SELECT status, since FROM bts_stations WHERE station = ${station}`.execute(h.db.db)
      ).rows.map((r) => `${r.status} ${r.since.toISOString()}`);
    // A restatement back to the earlier status: up since 08:00 again, not since 10:00.
    await h.publish("bts", "mobifone", make.bts("run-1", "NA-300", "up", { ts: "2026-11-26T08:00:00+07:00" }));
    await h.settle();
    await h.publish("bts", "mobifone", make.bts("run-2", "NA-300", "down", { ts: "2026-11-26T10:00:00+07:00" }));
    await h.settle();
    expect(await since("NA-300")).toEqual(["down 2026-11-26T03:00:00.000Z"]);
    await h.publish("bts", "mobifone", make.bts("run-2", "NA-300", "up", { ts: "2026-11-26T10:00:00+07:00", revision: 1 }));
    await h.settle();
    expect(await since("NA-300")).toEqual(["up 2026-11-26T01:00:00.000Z"]);
    // A late reading of the same status moves the start back; one of another status inside the
    // run moves it forward to the first reading after it.
    await h.publish("bts", "mobifone", make.bts("run-3", "NA-301", "down", { ts: "2026-11-26T11:00:00+07:00" }));
    await h.settle();
    await h.publish("bts", "mobifone", make.bts("run-4", "NA-301", "down", { ts: "2026-11-26T10:30:00+07:00" }));
    await h.settle();
    expect(await since("NA-301")).toEqual(["down 2026-11-26T03:30:00.000Z"]);
    await h.publish("bts", "mobifone", make.bts("run-5", "NA-301", "up", { ts: "2026-11-26T10:45:00+07:00" }));
    await h.settle();
    expect(await since("NA-301")).toEqual(["down 2026-11-26T04:00:00.000Z"]);
    // Several readings of one station in one batch: the first of the run, not the last.
    await h.stopIngest();
    await h.publish("bts", "mobifone", make.bts("run-6", "NA-301", "up", { ts: "2026-11-26T12:00:00+07:00" }));
    await h.publish("bts", "mobifone", make.bts("run-7", "NA-301", "up", { ts: "2026-11-26T12:05:00+07:00" }));
    await h.startIngest();
    await h.settle();
    expect(await since("NA-301")).toEqual(["up 2026-11-26T05:00:00.000Z"]);
  });

  it("orders a station's readings by (ts, revision, id) for its run, ties and microseconds included", async () => {
    const since = async (station: string) =>
      (await sql<{ since: Date }>`SELECT since FROM bts_stations WHERE station = ${station}`.execute(h.db.db)).rows[0]?.since.toISOString();
    const at = (t: string) => `2026-11-26T${t}+07:00`;
    // [readings in arrival order as (id, status, time)], expected since; one batch each, or all in one.
    const cases: [string, [string, string, string][], string, boolean][] = [
      [
        "NA-400",
        [
          ["b", "down", "10:00:00"],
          ["c", "up", "11:00:00"],
          ["a", "up", "10:00:00"],
        ],
        "2026-11-26T04:00:00.000Z",
        false,
      ],
      [
        "NA-401",
        [
          ["a", "up", "10:00:00"],
          ["c", "up", "12:00:00"],
          ["b", "down", "10:00:00"],
        ],
        "2026-11-26T05:00:00.000Z",
        false,
      ],
      [
        "NA-402",
        [
          ["a", "up", "10:00:00"],
          ["c", "up", "12:00:00"],
          ["b", "down", "12:00:00"],
        ],
        "2026-11-26T05:00:00.000Z",
        false,
      ],
      [
        "NA-403",
        [
          ["a", "up", "10:00:00.000100"],
          ["c", "up", "12:00:00"],
          ["b", "down", "10:00:00.000500"],
        ],
        "2026-11-26T05:00:00.000Z",
        false,
      ],
      [
        "NA-404",
        [
          ["y", "down", "11:00:00"],
          ["z", "up", "11:00:00"],
          ["a", "up", "10:00:00"],
        ],
        "2026-11-26T04:00:00.000Z",
        false,
      ],
      [
        "NA-405",
        [
          ["b", "down", "10:00:00"],
          ["c", "up", "11:00:00"],
          ["a", "up", "10:00:00"],
        ],
        "2026-11-26T04:00:00.000Z",
        true,
      ],
    ];
    for (const [station, readings, , together] of cases) {
      if (together) await h.stopIngest();
      for (const [id, status, t] of readings) {
        await h.publish("bts", "vietnamobile", make.bts(`${station}-${id}`, station, status, { ts: at(t) }));
        if (!together) await h.settle();
      }
      if (together) {
        await h.startIngest();
        await h.settle();
      }
    }
    for (const [station, , expected] of cases) expect(await since(station), station).toBe(expected);
  });

  it("derives BTS counts from each station's latest state, and a restatement can move a station", async () => {
    await h.publish("bts", "viettel", make.bts("s-1", "NA-100", "up", { ts: "2026-11-26T08:00:00+07:00" }));
    await h.publish("bts", "viettel", make.bts("s-2", "NA-101", "up", { ts: "2026-11-26T08:00:00+07:00" }));
    await h.publish("bts", "viettel", make.bts("s-3", "NA-100", "down", { ts: "2026-11-26T09:00:00+07:00" }));
    await h.settle();
    const counts = async () =>
      (await h.figures()).stations
        .filter((s) => s.source === "viettel")
        .reduce<Record<string, number>>((m, s) => ((m[`${s.area}/${s.status}`] = (m[`${s.area}/${s.status}`] ?? 0) + 1), m), {});
    expect(await counts()).toEqual({ "16681/down": 1, "16681/up": 1 });
    // s-3 restated: it was a reading of another station in another district.
    await h.publish("bts", "viettel", make.bts("s-3", "NA-200", "down", { ts: "2026-11-26T09:00:00+07:00", area: "16738", revision: 1 }));
    await h.settle();
    expect(await counts()).toEqual({ "16681/up": 2, "16738/down": 1 });
    // The live change log carries the new absolute counts of both groups.
    const last = await h.db.db
      .selectFrom("changes")
      .selectAll()
      .where("metric", "=", "bts_stations")
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirstOrThrow();
    const entries = last.entries as { key: Record<string, string>; value: number }[];
    expect(entries.find((e) => e.key.area === "16681" && e.key.status === "down")!.value).toBe(0);
    expect(entries.find((e) => e.key.area === "16738" && e.key.status === "down")!.value).toBe(1);
  });

  it("tells the live log only the stations and station counts a batch really changed", async () => {
    const changesSince = async (id: number) =>
      (
        await h.db.db
          .selectFrom("changes")
          .selectAll()
          .where("id", ">", id)
          .where("metric", "in", ["bts_station", "bts_stations"])
          .orderBy("id")
          .execute()
      )
        .map((r) => ({
          metric: r.metric,
          entries: (r.entries as { key: Record<string, string>; value: unknown }[]).filter(
            (e) => e.key.station === "NA-700" || e.key.area === "17035",
          ),
        }))
        .filter((r) => r.entries.length > 0);
    const lastId = async () =>
      Number((await sql<{ id: string | null }>`SELECT max(id) AS id FROM changes`.execute(h.db.db)).rows[0]?.id ?? 0);
    const at = (t: string) => `2026-11-26T${t}+07:00`;
    await h.publish("bts", "vinaphone", make.bts("live-1", "NA-700", "up", { ts: at("08:00:00"), area: "17035" }));
    await h.settle();
    // The same status again, later: the station's time moves on, its state does not.
    let from = await lastId();
    await h.publish("bts", "vinaphone", make.bts("live-2", "NA-700", "up", { ts: at("08:05:00"), area: "17035" }));
    await h.settle();
    expect(await changesSince(from)).toEqual([]);
    // A late reading of the same status moves `since` back: the station changes, its group's counts do not.
    from = await lastId();
    await h.publish("bts", "vinaphone", make.bts("live-0", "NA-700", "up", { ts: at("07:55:00"), area: "17035" }));
    await h.settle();
    expect(await changesSince(from)).toEqual([
      {
        metric: "bts_station",
        entries: [
          {
            key: { source: "vinaphone", station: "NA-700" },
            value: { tech: "4G", area: "17035", status: "up", since: "2026-11-26T00:55:00.000Z" },
          },
        ],
      },
    ]);
    // Down: the station and both counts of its group.
    from = await lastId();
    await h.publish("bts", "vinaphone", make.bts("live-3", "NA-700", "down", { ts: at("08:10:00"), area: "17035" }));
    await h.settle();
    const down = await changesSince(from);
    expect(down.find((r) => r.metric === "bts_station")?.entries).toEqual([
      {
        key: { source: "vinaphone", station: "NA-700" },
        value: { tech: "4G", area: "17035", status: "down", since: "2026-11-26T01:10:00.000Z" },
      },
    ]);
    const counts = Object.fromEntries(down.find((r) => r.metric === "bts_stations")!.entries.map((e) => [e.key.status, e.value]));
    expect(counts).toMatchObject({ up: 0, down: 1 });
  });

  it("tells the live log the province-wide received count of every minute a batch touched", async () => {
    const minutes = async () => {
      const rows = await h.db.db.selectFrom("changes").selectAll().where("metric", "=", "egov_minute").orderBy("id").execute();
      const latest: Record<string, number> = {};
      for (const r of rows) for (const e of r.entries as { key: { minute: string }; value: number }[]) latest[e.key.minute] = e.value;
      // This test's two minutes only (others in this file receive steps too).
      return Object.fromEntries(Object.entries(latest).filter(([m]) => /^2026-11-25T02:1[56]/.test(m)));
    };
    const at = (hm: string) => ({ ts: `2026-11-25T${hm}+07:00` });
    // Two keys received in one minute, and a step that is not a receipt.
    await h.publish("egov", "dvc", make.egov("m-1", "received", { ...at("09:15:10"), area: "16681" }));
    await h.publish("egov", "dvc", make.egov("m-2", "received", { ...at("09:15:40"), area: "16732" }));
    await h.publish("egov", "dvc", make.egov("m-3", "resolved_on_time", at("09:15:20")));
    await h.settle();
    expect(await minutes()).toEqual({ "2026-11-25T02:15:00.000Z": 2 });
    // A later batch adds a third key: the figure counts the two it did not touch too.
    await h.publish("egov", "dvc", make.egov("m-4", "received", { ...at("09:15:50"), area: "16939", channel: "in_person" }));
    await h.settle();
    expect(await minutes()).toEqual({ "2026-11-25T02:15:00.000Z": 3 });
    // Restated: m-1 was rejected, not received; m-2 was received a minute later.
    await h.publish("egov", "dvc", make.egov("m-1", "rejected", { ...at("09:15:10"), area: "16681", revision: 1 }));
    await h.publish("egov", "dvc", make.egov("m-2", "received", { ...at("09:16:05"), area: "16732", revision: 1 }));
    await h.settle();
    expect(await minutes()).toEqual({ "2026-11-25T02:15:00.000Z": 1, "2026-11-25T02:16:00.000Z": 1 });
    // Two keys of one minute whose changes cancel out: the minute is still told (unchanged).
    const told = async () =>
      (await h.db.db.selectFrom("changes").selectAll().where("metric", "=", "egov_minute").execute()).filter((r) =>
        JSON.stringify(r.entries).includes("2026-11-25T02:15"),
      ).length;
    const before = await told();
    await h.publish("egov", "dvc", make.egov("m-4", "received", { ...at("09:15:50"), area: "16738", channel: "in_person", revision: 1 }));
    await h.settle();
    expect(await told()).toBe(before + 1);
    expect(await minutes()).toEqual({ "2026-11-25T02:15:00.000Z": 1, "2026-11-25T02:16:00.000Z": 1 });
  });
});
