import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyString } from "@pulse/contracts";
import { areaMap, localDayNumber } from "@pulse/seeds";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig, startLive, type Live } from "@pulse/live";
import { LiveClient } from "@pulse/live/testing";

// Stations keep their ids and move: a station last heard by district before the cut-over, then by
// commune today, then in another commune. Through the real pipeline (NATS → ingest → Postgres →
// LIVE → gateway): its bts_station key stays one key, the counts by area follow it, the roll-ups
// follow it, and an alarm list filtered to one former district sees it arrive and leave.
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19) + "+07:00";
const key = (k: Record<string, string>) => keyString(k);

describe("a station that changes area moves, with its counts and alarms", () => {
  let h: Harness;
  let live: Live;
  const clients: LiveClient[] = [];
  const connect = async () => {
    const c = LiveClient.connect(`ws://127.0.0.1:${live.port}/live`);
    clients.push(c);
    await c.opened;
    return c;
  };
  const now = Date.now();
  // The former district 412 (Vinh) today: Phường Cửa Lò (16732) is one of its communes; Xã Yên Thành (17506) is not.
  const vinh = areaMap.formerDistrictsOn(localDayNumber(now)).find((d) => d.district.code === "412")!;
  const vinhCommunes = vinh.communes.map((c) => c.code);

  beforeAll(async () => {
    h = await ingestHarness("live_move");
    live = await startLive(
      loadConfig(
        { DATABASE_URL: h.database.url, NATS_URL: h.config.natsUrl, LIVE_PORT: "0", LIVE_ADMIN_PORT: "0", LOG_LEVEL: "silent" },
        { names: h.names },
      ),
      { clock: () => Date.now() },
    );
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await live?.close();
    await h?.close();
  });

  it("follows the station from district 412 (history) to Phường Cửa Lò, then to Xã Yên Thành", async () => {
    expect(vinhCommunes).toContain("16732");
    expect(vinhCommunes).not.toContain("17506");
    const all = await connect();
    all.subscribe("all", ["bts_station", "bts_stations", "rollup"]);
    await all.next((f) => f.type === "snapshot");
    const alarms = await connect();
    alarms.subscribe("vinh-down", ["bts_station"], { filter: { status: "down", area: vinhCommunes } });
    await alarms.next((f) => f.type === "snapshot");
    const rollup = (scope: string, area: string) => all.metric("rollup").get(key({ scope, area })) as Record<string, number> | undefined;

    // 1. Heard down by district on 2025-06-20: accepted (in force that day), history today.
    await h.publish("bts", "viettel", make.bts("m1", "NA-4G-0007", "down", { area: "412", ts: "2025-06-20T08:00:00+07:00" }));
    await h.settle();
    await all.until(() => all.seq >= live.seq() && all.metric("bts_station").size === 1, 10_000, "the station");
    expect(all.metric("bts_station").get(key({ source: "viettel", station: "NA-4G-0007" }))).toMatchObject({ area: "412", status: "down" });
    expect(all.metric("bts_stations").get(key({ source: "viettel", tech: "4G", area: "412", status: "down" }))).toBe(1);
    await all.until(() => rollup("retired", "40")?.bts_stations === 1, 5_000, "the station counted as retired");
    expect(rollup("province", "40")?.bts_down).toBeUndefined();
    expect(alarms.metric("bts_station").size).toBe(0);

    // 2. Heard down today in Phường Cửa Lò: the same key, moved; counts leave 412 and join 16732.
    await h.publish("bts", "viettel", make.bts("m2", "NA-4G-0007", "down", { area: "16732", ts: local(now - 60_000) }));
    await h.settle();
    await all.until(() => rollup("commune", "16732")?.bts_down === 1, 10_000, "the station down in 16732");
    expect(all.metric("bts_station").size).toBe(1);
    expect(all.metric("bts_station").get(key({ source: "viettel", station: "NA-4G-0007" }))).toMatchObject({
      area: "16732",
      status: "down",
    });
    expect(all.metric("bts_stations").get(key({ source: "viettel", tech: "4G", area: "412", status: "down" }))).toBe(0);
    expect(all.metric("bts_stations").get(key({ source: "viettel", tech: "4G", area: "16732", status: "down" }))).toBe(1);
    expect(rollup("former_district", "412")).toMatchObject({ bts: 1, bts_down: 1 });
    expect(rollup("province", "40")).toMatchObject({ bts: 1, bts_down: 1 });
    expect(rollup("retired", "40")).toMatchObject({ bts_stations: 0 });
    // Who reported here today: read from Postgres shortly after the change.
    await all.until(() => String(rollup("commune", "16732")?.reported) === "viettel", 5_000, "viettel reported for 16732");
    // The former district's alarm list has it now.
    await alarms.until(() => alarms.metric("bts_station").size === 1, 5_000, "the alarm in Vinh's list");

    // 3. Heard up today in Xã Yên Thành (former district 426): it leaves Vinh's alarm list.
    const seen = alarms.frames.length;
    await h.publish("bts", "viettel", make.bts("m3", "NA-4G-0007", "up", { area: "17506", ts: local(now - 30_000) }));
    await h.settle();
    await all.until(() => rollup("commune", "17506")?.bts === 1, 10_000, "the station in 17506");
    expect(rollup("commune", "16732")).toMatchObject({ bts: 0, bts_down: 0 });
    expect(rollup("former_district", "412")).toMatchObject({ bts: 0, bts_down: 0 });
    expect(rollup("former_district", "426")).toMatchObject({ bts: 1, bts_up: 1 });
    expect(rollup("province", "40")).toMatchObject({ bts: 1, bts_down: 0 });
    expect(all.metric("bts_stations").get(key({ source: "viettel", tech: "4G", area: "16732", status: "down" }))).toBe(0);
    expect(all.metric("bts_stations").get(key({ source: "viettel", tech: "4G", area: "17506", status: "up" }))).toBe(1);
    // The delta that takes it out of the filter is sent, so the list drops it.
    const out = await alarms.next(
      (f) => f.type === "delta" && f.entries.some((e: { key: { station: string } }) => e.key.station === "NA-4G-0007"),
      5_000,
      seen,
    );
    expect(out.entries[0].value).toMatchObject({ area: "17506", status: "up" });
    expect([...alarms.metric("bts_station").values()].filter((v) => (v as { status: string }).status === "down")).toEqual([]);
    // One station all along: Postgres holds one row, still under its id.
    expect(await h.count("bts_stations")).toBe(1);
  });
});
