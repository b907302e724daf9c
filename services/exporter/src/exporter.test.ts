import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@pulse/db";
import { loadConfig } from "./config";
import { startExporter, type Exporter } from "./exporter";
import { insertFixture, fixtureExpectations, seededSeriesCounts } from "./testing/fixture";
import { parseMetrics, valueOf, type Sample } from "./testing/parse-metrics";
import { createTestDatabase } from "@pulse/testkit";

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
    for (const s of samples.filter((s) =>
      [
        "pulse_subscribers",
        "pulse_bts_stations",
        "pulse_esign_documents_today",
        "pulse_egov_submissions_today",
        "pulse_dead_letters_stored",
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
    for (const r of bts.rows)
      expect(valueOf(samples, "pulse_bts_stations", { source: r.source, tech: r.tech, area: r.area, status: r.status })).toBe(Number(r.n));
    const sumOf = (name: string) => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
    expect(sumOf("pulse_bts_stations")).toBe(8);
    expect(sumOf("pulse_subscribers")).toBe(1_060_012);
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
      "UPDATE subscriber_gauges SET count = 900000, revision = 1 WHERE source='viettel' AND service='mobile' AND area='412'",
    );
    let samples = await scrape();
    expect(valueOf(samples, "pulse_subscribers", { source: "viettel", service: "mobile", area: "412" })).toBe(900_000);
    // Next local day: the "today" figures start again at zero; gauges stay.
    clock = Date.parse("2026-11-27T00:00:01+07:00");
    samples = await scrape();
    expect(
      valueOf(samples, "pulse_egov_submissions_today", {
        source: "dvc",
        agency: "so-tttt",
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
      expect(valueOf(samples, "pulse_subscribers", { source: "viettel", service: "mobile", area: "412" })).toBe(900_000);
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
    expect(valueOf(samples, "pulse_subscribers", { source: "viettel", service: "mobile", area: "412" })).toBe(900_000);
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
