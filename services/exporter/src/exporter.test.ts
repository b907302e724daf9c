import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@pulse/db";
import { loadConfig } from "./config";
import { startExporter, type Exporter } from "./exporter";
import { insertFixture, fixtureExpectations, seededSeriesCounts } from "./testing/fixture";
import { parseMetrics, valueOf, type Sample } from "./testing/parse-metrics";
import { createTestDatabase } from "@pulse/testkit";
import { areaMap, localDayNumber } from "@pulse/seeds";

// Thursday 10:00 in Vinh: inside office hours, so office-hours feeds are judged too.
const now0 = Date.parse("2026-11-26T10:00:00+07:00");

describe("exporter over a known set of rows", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Db;
  let exporter: Exporter;
  let clock = now0;
  const scrape = async (): Promise<Sample[]> => parseMetrics(await (await fetch(`http://127.0.0.1:${exporter.port}/metrics`)).text());

  beforeAll(async () => {
    database = await createTestDatabase("exporter");
    db = createDb({ url: database.url, poolMax: 2 });
    exporter = await startExporter(
      loadConfig({ DATABASE_URL: database.url, METRICS_PORT: "0", NATS_URL: "none", EXPORTER_CACHE_MS: "0", LOG_LEVEL: "silent" }),
      { clock: () => clock },
    );
  });
  afterAll(async () => {
    await exporter?.close();
    await db?.close();
    await database?.drop();
  });

  it("shows every seeded label set at zero from the start", async () => {
    const samples = await scrape();
    for (const [name, count] of Object.entries(seededSeriesCounts)) {
      expect(samples.filter((s) => s.name === name).length, name).toBe(count);
    }
    expect(samples.filter((s) => s.name === "pulse_area_info").every((s) => s.value === 1)).toBe(true);
    for (const s of samples.filter((s) =>
      [
        "pulse_subscribers",
        "pulse_bts_stations",
        "pulse_esign_documents_today",
        "pulse_egov_submissions_today",
        "pulse_dead_letters_stored",
        "pulse_retired_area_readings",
      ].includes(s.name),
    )) {
      expect(s.value).toBe(0);
    }
    expect(valueOf(samples, "pulse_kpi_ratio", { kpi: "esign_rate" })).toBeNaN();
    expect(valueOf(samples, "pulse_exporter_db_up")).toBe(1);
    expect(samples.some((s) => s.name === "pulse_exporter_process_cpu_user_seconds_total")).toBe(true);
  });

  it("equals what Postgres holds", async () => {
    await insertFixture(db.db, now0);
    const samples = await scrape();
    for (const e of fixtureExpectations) {
      const v = valueOf(samples, e.name, e.labels);
      expect(v, `${e.name}${JSON.stringify(e.labels)}`).toBeCloseTo(e.value, 12);
    }
    // Cross-check the whole of two tables against SQL computed here, not by the exporter.
    const bts = await db.pool.query<{ source: string; tech: string; area: string; status: string; n: string }>(
      "SELECT source, tech, area, status, count(*) AS n FROM bts_stations WHERE tech IN ('2G','3G','4G','5G') GROUP BY 1,2,3,4",
    );
    // Only areas in force on the clock's day are current (the seeds' map, read here, not by the exporter).
    const inForce = areaMap.leafCodesOn(localDayNumber(now0));
    expect(bts.rows.filter((r) => inForce.has(r.area)).length).toBeGreaterThan(3);
    for (const r of bts.rows.filter((r) => inForce.has(r.area)))
      expect(valueOf(samples, "pulse_bts_stations", { source: r.source, tech: r.tech, area: r.area, status: r.status })).toBe(Number(r.n));
    const sumOf = (name: string) => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
    // The districts' rows (and the unknown code's) are history: counted apart, in no current series.
    expect(sumOf("pulse_bts_stations")).toBe(8);
    expect(sumOf("pulse_subscribers")).toBe(1_060_007);
    expect(samples.some((s) => ["412", "413", "426", "999", "other"].includes(s.labels.area ?? ""))).toBe(false);
    const eg = await db.pool.query<{ n: string }>(
      "SELECT sum(count) AS n FROM egov_counts WHERE grain='day' AND bucket = date_trunc('day', $1::timestamptz, 'Asia/Ho_Chi_Minh')",
      [new Date(now0)],
    );
    expect(sumOf("pulse_egov_submissions_today")).toBe(Number(eg.rows[0]!.n));
    // Unknown values are counted where they were folded.
    expect(valueOf(samples, "pulse_exporter_unknown_label_values", { metric: "esign_documents_today", label: "agency" })).toBe(1);
    expect(valueOf(samples, "pulse_exporter_unknown_label_values", { metric: "bts_stations", label: "tech" })).toBe(1);
    expect(samples.some((s) => s.labels.source === "nobody")).toBe(false);
    expect(valueOf(samples, "pulse_feed_last_received_timestamp_seconds", { source: "viettel", feed: "bts" })).toBe((now0 - 30_000) / 1000);
    expect(valueOf(samples, "pulse_feed_last_received_timestamp_seconds", { source: "edoc", feed: "esign" })).toBe(0);
  });

  it("follows a restatement down, and the day rolling over", async () => {
    await db.pool.query(
      "UPDATE subscriber_gauges SET count = 900000, revision = 1 WHERE source='viettel' AND service='mobile' AND area='16681'",
    );
    let samples = await scrape();
    expect(valueOf(samples, "pulse_subscribers", { source: "viettel", service: "mobile", area: "16681" })).toBe(900_000);
    // Next local day: the "today" figures start again at zero; gauges stay.
    clock = Date.parse("2026-11-27T00:00:01+07:00");
    samples = await scrape();
    expect(
      valueOf(samples, "pulse_egov_submissions_today", {
        source: "dvc",
        agency: "so-khcn",
        level: "province",
        channel: "online_full",
        status: "received",
      }),
    ).toBe(0);
    expect(valueOf(samples, "pulse_kpi_ratio", { kpi: "esign_rate" })).toBeNaN();
    expect(valueOf(samples, "pulse_kpi_ratio", { kpi: "esign_rate_30d" })).toBeCloseTo(205 / 260, 12);
    // Past midnight the office-hours portal is not judged; a carrier silent since 09:59 is.
    expect(valueOf(samples, "pulse_feed_state", { source: "dvc", feed: "egov", state: "fresh" })).toBe(1);
    expect(valueOf(samples, "pulse_feed_state", { source: "viettel", feed: "bts", state: "silent" })).toBe(1);
    clock = now0;
  });

  it("serves the last good figures and says so when the database fails", async () => {
    await db.pool.query("ALTER TABLE feed_status RENAME TO feed_status_gone");
    try {
      const samples = await scrape();
      expect(valueOf(samples, "pulse_exporter_db_up")).toBe(0);
      expect(valueOf(samples, "pulse_exporter_db_errors_total")).toBeGreaterThanOrEqual(1);
      expect(valueOf(samples, "pulse_subscribers", { source: "viettel", service: "mobile", area: "16681" })).toBe(900_000);
      const health = await fetch(`http://127.0.0.1:${exporter.port}/healthz`);
      expect(health.status).toBe(503);
    } finally {
      await db.pool.query("ALTER TABLE feed_status_gone RENAME TO feed_status");
    }
    const health = await fetch(`http://127.0.0.1:${exporter.port}/healthz`);
    expect(health.status).toBe(200);
  });

  it("starts without NATS, and says it cannot tell pipeline_behind", async () => {
    const t = Date.now();
    const e2 = await startExporter(
      loadConfig({
        DATABASE_URL: database.url,
        METRICS_PORT: "0",
        NATS_URL: "nats://127.0.0.1:1",
        EXPORTER_CACHE_MS: "0",
        LOG_LEVEL: "silent",
      }),
      { clock: () => clock },
    );
    try {
      expect(Date.now() - t).toBeLessThan(10_000);
      const samples = parseMetrics(await (await fetch(`http://127.0.0.1:${e2.port}/metrics`)).text());
      expect(valueOf(samples, "pulse_exporter_nats_up")).toBe(0);
      expect(samples.filter((s) => s.name === "pulse_feed_state" && s.labels.state === "pipeline_behind" && s.value === 1)).toEqual([]);
      const health = (await (await fetch(`http://127.0.0.1:${e2.port}/healthz`)).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ ok: true, db: "up", nats: "down" });
    } finally {
      await e2.close();
    }
  });

  it("reads through a handle shared with the process, and leaves it open", async () => {
    const e2 = await startExporter(
      loadConfig({ DATABASE_URL: database.url, METRICS_PORT: "0", NATS_URL: "none", EXPORTER_CACHE_MS: "0", LOG_LEVEL: "silent" }),
      { clock: () => clock, db },
    );
    const samples = parseMetrics(await (await fetch(`http://127.0.0.1:${e2.port}/metrics`)).text());
    expect(valueOf(samples, "pulse_subscribers", { source: "viettel", service: "mobile", area: "16681" })).toBe(900_000);
    await e2.close();
    expect((await db.pool.query("SELECT 1 AS one")).rows[0].one).toBe(1);
  });

  it("caches one read for concurrent scrapes", async () => {
    const e2 = await startExporter(
      loadConfig({ DATABASE_URL: database.url, METRICS_PORT: "0", NATS_URL: "none", EXPORTER_CACHE_MS: "60000", LOG_LEVEL: "silent" }),
      { clock: () => clock },
    );
    try {
      const get = () => fetch(`http://127.0.0.1:${e2.port}/metrics`).then((r) => r.text());
      await Promise.all([get(), get(), get()]);
      const samples = parseMetrics(await get());
      // One read at start; the cache serves every scrape after it.
      expect(samples.find((s) => s.name === "pulse_exporter_refresh_duration_seconds_count")?.value).toBe(1);
    } finally {
      await e2.close();
    }
  });
});

describe("exporter across the cut-over to communes (2025-07-01)", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Db;
  let exporter: Exporter;
  // One second before midnight UTC+7 on the districts' last day; the test moves it past midnight.
  const lastDistrictSecond = Date.parse("2025-06-30T23:59:59+07:00");
  let clock = lastDistrictSecond;
  const scrape = async (): Promise<Sample[]> => parseMetrics(await (await fetch(`http://127.0.0.1:${exporter.port}/metrics`)).text());
  const sumOf = (samples: Sample[], name: string, match: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);

  beforeAll(async () => {
    database = await createTestDatabase("exporter_cutover");
    db = createDb({ url: database.url, poolMax: 1 });
    const at = new Date(lastDistrictSecond - 3_600_000);
    const gauge = (source: string, service: string, area: string, count: number) => ({
      source,
      service,
      area,
      count,
      ts: at,
      revision: 0,
      event_id: `${source}-${service}-${area}`,
    });
    // Vinh reported as a district until the cut, and its wards already hold readings.
    await db.db
      .insertInto("subscriber_gauges")
      .values([
        gauge("viettel", "ftth", "412", 70_000),
        gauge("viettel", "mobile", "412", 400_000),
        gauge("viettel", "ftth", "16681", 30_000),
        gauge("vinaphone", "ftth", "16732", 12_000),
      ])
      .execute();
    await db.db
      .insertInto("bts_stations")
      .values(
        ["412", "412", "16681"].map((area, i) => ({
          source: "viettel",
          station: `st-${i}`,
          tech: "4G",
          area,
          status: "down",
          since: at,
          ts: at,
          revision: 0,
          event_id: `e-${i}`,
        })),
      )
      .execute();
    exporter = await startExporter(
      loadConfig({ DATABASE_URL: database.url, METRICS_PORT: "0", NATS_URL: "none", EXPORTER_CACHE_MS: "0", LOG_LEVEL: "silent" }),
      { clock: () => clock },
    );
  });
  afterAll(async () => {
    await exporter?.close();
    await db?.close();
    await database?.drop();
  });

  it("shows the districts on their last day, and the communes from midnight, without a restart", async () => {
    let samples = await scrape();
    // 20 districts: Cửa Lò (413) was merged into Vinh on 2025-01-01.
    expect(samples.filter((s) => s.name === "pulse_area_info").length).toBe(20);
    expect(valueOf(samples, "pulse_area_info", { area: "412" })).toBe(1);
    expect(samples.find((s) => s.name === "pulse_area_info" && s.labels.area === "412")?.labels).toEqual({
      area: "412",
      former_district: "412",
      name_vi: "Thành phố Vinh",
    });
    expect(samples.filter((s) => s.name === "pulse_subscribers").length).toBe(4 * 4 * 20);
    expect(valueOf(samples, "pulse_subscribers", { source: "viettel", service: "ftth", area: "412" })).toBe(70_000);
    expect(valueOf(samples, "pulse_subscribers", { source: "viettel", service: "ftth", area: "16681" })).toBeUndefined();
    expect(valueOf(samples, "pulse_kpi_ratio", { kpi: "ftth_coverage" })).toBeCloseTo(70_000 / 840_932, 12);
    expect(sumOf(samples, "pulse_bts_stations", { status: "down" })).toBe(2);
    expect(valueOf(samples, "pulse_retired_area_readings", { feed: "subscribers" })).toBe(2);
    expect(valueOf(samples, "pulse_retired_area_readings", { feed: "bts" })).toBe(1);
    // Three dossier levels until the district level's grace ends (2025-09-30).
    expect(new Set(samples.filter((s) => s.name === "pulse_egov_submissions_today").map((s) => s.labels.level))).toEqual(
      new Set(["province", "district", "commune"]),
    );

    clock = Date.parse("2025-07-01T00:00:01+07:00");
    samples = await scrape();
    expect(samples.filter((s) => s.name === "pulse_area_info").length).toBe(130);
    expect(valueOf(samples, "pulse_area_info", { area: "412" })).toBeUndefined();
    expect(valueOf(samples, "pulse_area_info", { area: "16732", former_district: "412" })).toBe(1);
    expect(samples.filter((s) => s.name === "pulse_subscribers").length).toBe(4 * 4 * 130);
    expect(samples.some((s) => s.labels.area === "412")).toBe(false);
    // District and commune gauges both present: the province is the communes alone.
    expect(sumOf(samples, "pulse_subscribers", { service: "ftth" })).toBe(42_000);
    expect(valueOf(samples, "pulse_kpi_ratio", { kpi: "ftth_coverage" })).toBeCloseTo(42_000 / 840_932, 12);
    expect(sumOf(samples, "pulse_bts_stations", { status: "down" })).toBe(1);
    expect(valueOf(samples, "pulse_retired_area_readings", { feed: "subscribers" })).toBe(2);
    expect(valueOf(samples, "pulse_retired_area_readings", { feed: "bts" })).toBe(2);
    clock = lastDistrictSecond;
  });

  it("lists the dossier levels still named: the district level until its grace day", async () => {
    clock = Date.parse("2025-09-30T12:00:00+07:00");
    let samples = await scrape();
    expect(samples.some((s) => s.name === "pulse_egov_submissions_today" && s.labels.level === "district")).toBe(true);
    clock = Date.parse("2025-10-01T00:00:00+07:00");
    samples = await scrape();
    expect(samples.some((s) => s.name === "pulse_egov_submissions_today" && s.labels.level === "district")).toBe(false);
    // The merged departments are gone from the agency labels; ubnd-xa took ubnd-huyen's place.
    const agencies = new Set(samples.filter((s) => s.name === "pulse_esign_documents_today").map((s) => s.labels.agency));
    expect(agencies.has("so-tttt")).toBe(false);
    expect(agencies.has("ubnd-huyen")).toBe(false);
    expect(agencies.has("ubnd-xa")).toBe(true);
    clock = lastDistrictSecond;
  });
});

describe("loadConfig", () => {
  it("names the missing variable", () => {
    expect(() => loadConfig({})).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ DATABASE_URL: "postgres://x/y", METRICS_PORT: "http" })).toThrow(/METRICS_PORT/);
    const c = loadConfig({ DATABASE_URL: "postgres://x/y" });
    expect(c.port).toBe(9464);
    expect(c.cacheMs).toBe(1000);
    expect(Object.isFrozen(c)).toBe(true);
  });
});
