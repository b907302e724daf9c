import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig, startExporter, type Exporter } from "@pulse/exporter";
import {
  dashboardQueries,
  expandPromql,
  prometheusFiles,
  parseMetrics,
  valueOf,
  type Sample,
  eventually,
  promQuery,
  startPrometheus,
} from "@pulse/exporter/testing";
import { calendarClock, utc7DayStart, withinOneDay, type TestClock } from "@pulse/testkit";
import { areaMap, localDayNumber } from "@pulse/seeds";

// End to end: producers publish over NATS (duplicates, restatements, late and out-of-order
// events), the real ingest fills Postgres, and the exporter must show exactly what Postgres holds.
// The exporter's clock (its "today") is a calendar clock (PULSE_TEST_CLOCK, docs/testing-time.md):
// events are dated by it, in the past of the broker's real clock, and "today" is the day the
// exporter read in, even when the midnight clock crosses into the next day mid-test.
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19) + "+07:00";
// Areas and agencies in force after 2025-06-30: Phường Thành Vinh and Phường Cửa Lò (former district 412).
const vinh = { area: "16681" };
const dossier = (id: string, status: string, extra: { ts: string; revision?: number; channel?: string }) => {
  const { channel = "online_full", ...rest } = extra;
  return { id, ...vinh, data: { procedure: "cap-giay-phep", agency: "ubnd-xa", level: "commune", channel, status }, ...rest };
};

describe("exporter after real ingest", () => {
  let h: Harness;
  let exporter: Exporter;
  let clock: TestClock;
  const scrape = async (): Promise<Sample[]> => parseMetrics(await (await fetch(`http://127.0.0.1:${exporter.port}/metrics`)).text());

  beforeAll(async () => {
    h = await ingestHarness("exp_e2e");
    clock = calendarClock();
    exporter = await startExporter(
      loadConfig(
        { DATABASE_URL: h.database.url, METRICS_PORT: "0", NATS_URL: h.config.natsUrl, EXPORTER_CACHE_MS: "0", LOG_LEVEL: "silent" },
        { names: h.names },
      ),
      { clock: () => clock.now() },
    );
  });
  afterAll(async () => {
    await exporter?.close();
    await h?.close();
  });

  it("equals Postgres after duplicates, restatements and late events", async () => {
    // Today's events all fall in one local day: in the first two minutes of a day, date them
    // just before its midnight (still in the past, as the clock is).
    const t = clock.now();
    const now = t - utc7DayStart(t) < 120_000 ? utc7DayStart(t) - 1_000 : t;
    const ts = (agoS: number) => ({ ts: local(now - agoS * 1000) });
    // Subscribers: a restatement lowers the count; an older reading arriving late changes nothing.
    await h.publish("subscribers", "viettel", make.subscribers("s1", "mobile", 1000, { ...ts(60), ...vinh }));
    await h.publish("subscribers", "viettel", make.subscribers("s1", "mobile", 900, { ...ts(60), ...vinh, revision: 1 }));
    await h.publish("subscribers", "viettel", make.subscribers("s0", "mobile", 5, { ...ts(3600), ...vinh }));
    await h.publish("subscribers", "vinaphone", make.subscribers("f1", "ftth", 42_000, { ...ts(30), area: "16732" }));
    // History: Vinh as a district on its last day, accepted (judged on the record's own day), kept,
    // and left out of every current figure (counted in pulse_retired_area_readings).
    await h.publish("subscribers", "vinaphone", make.subscribers("h1", "ftth", 70_000, { ts: "2025-06-30T10:00:00+07:00", area: "412" }));
    await h.publish("bts", "mobifone", make.bts("h2", "Z", "down", { ts: "2025-06-30T10:00:00+07:00", area: "412" }));
    // BTS: a station goes down; a late "up" reading from before must not bring it back.
    await h.publish("bts", "viettel", make.bts("b1", "A", "up", { ...ts(120), ...vinh }));
    await h.publish("bts", "viettel", make.bts("b2", "A", "down", { ...ts(30), ...vinh }));
    await h.publish("bts", "viettel", make.bts("b0", "A", "up", { ...ts(600), ...vinh }));
    await h.publish("bts", "viettel", make.bts("b3", "B", "up", { ...ts(30), ...vinh, tech: "5G" }));
    // E-documents: a duplicate (same Msg-Id, and once more without one), a restatement that
    // signs an unsigned document, a late one from yesterday, an agency outside seeds.
    const khcn = { agency: "so-khcn" };
    await h.publish("esign", "edoc", make.esign("d1", true, { ...ts(30), ...khcn }));
    await h.publish("esign", "edoc", make.esign("d1", true, { ...ts(30), ...khcn }));
    await h.publish("esign", "edoc", make.esign("d1", true, { ...ts(30), ...khcn }), { msgId: false });
    await h.publish("esign", "edoc", make.esign("d2", false, { ...ts(20), ...khcn }));
    await h.publish("esign", "edoc", make.esign("d2", true, { ...ts(20), ...khcn, revision: 1 }));
    await h.publish("esign", "edoc", make.esign("d3", true, { ...ts(86_400 + 3600), ...khcn }));
    await h.publish("esign", "edoc", make.esign("d4", false, { ...ts(10), agency: "so-moi" }));
    // Dossiers: steps of two dossiers, one restated from late to on time.
    await h.publish("egov", "dvc", dossier("x1:received", "received", ts(50)));
    await h.publish("egov", "dvc", dossier("x2:received", "received", { ...ts(40), channel: "in_person" }));
    await h.publish("egov", "dvc", dossier("x1:resolved", "resolved_late", ts(20)));
    await h.publish("egov", "dvc", dossier("x1:resolved", "resolved_on_time", { ...ts(20), revision: 1 }));
    await h.publish("egov", "dvc", dossier("x2:received", "received", { ...ts(40), channel: "in_person" }), { msgId: false });
    await h.settle();

    // The scrape and the day the exporter read it in (the midnight clock may have crossed).
    const { value: s, dayStart } = await withinOneDay(clock, scrape);
    const eventsToday = dayStart === utc7DayStart(now);
    // What Postgres holds, read here independently of the exporter's queries.
    const pg = async (text: string) => (await h.db.pool.query(text)).rows as Record<string, unknown>[];
    // Current: the areas in force on the exporter's day (seeds' map, read here); the rest is history.
    const inForce = areaMap.leafCodesOn(localDayNumber(dayStart));
    const current = async (text: string) => (await pg(text)).filter((r) => inForce.has(String(r.area)));
    expect((await pg("SELECT area FROM subscriber_gauges WHERE area = '412'")).length).toBe(1);
    expect(valueOf(s, "pulse_retired_area_readings", { feed: "subscribers" })).toBe(1);
    expect(valueOf(s, "pulse_retired_area_readings", { feed: "bts" })).toBe(1);
    expect(s.some((x) => x.labels.area === "412")).toBe(false);
    for (const r of await current("SELECT source, service, area, count FROM subscriber_gauges")) {
      expect(valueOf(s, "pulse_subscribers", { source: String(r.source), service: String(r.service), area: String(r.area) })).toBe(
        Number(r.count),
      );
    }
    for (const r of await current("SELECT source, tech, area, status, count(*) AS n FROM bts_stations GROUP BY 1, 2, 3, 4")) {
      expect(
        valueOf(s, "pulse_bts_stations", {
          source: String(r.source),
          tech: String(r.tech),
          area: String(r.area),
          status: String(r.status),
        }),
      ).toBe(Number(r.n));
    }
    const today = `'${new Date(dayStart).toISOString()}'::timestamptz`;
    for (const r of await pg(
      `SELECT source, CASE WHEN agency IN ('so-moi') THEN 'other' ELSE agency END AS agency, signed::text AS signed, sum(count) AS n FROM esign_counts WHERE grain = 'day' AND bucket = ${today} GROUP BY 1, 2, 3`,
    )) {
      expect(
        valueOf(s, "pulse_esign_documents_today", { source: String(r.source), agency: String(r.agency), signed: String(r.signed) }),
      ).toBe(Number(r.n));
    }
    for (const r of await pg(
      `SELECT source, agency, level, channel, status, sum(count) AS n FROM egov_counts WHERE grain = 'day' AND bucket = ${today} GROUP BY 1, 2, 3, 4, 5`,
    )) {
      expect(
        valueOf(s, "pulse_egov_submissions_today", {
          source: String(r.source),
          agency: String(r.agency),
          level: String(r.level),
          channel: String(r.channel),
          status: String(r.status),
        }),
      ).toBe(Number(r.n));
    }
    // Feeds just heard are fresh; the exporter reads the consumers from NATS, and ingest keeps up.
    expect(valueOf(s, "pulse_feed_state", { source: "viettel", feed: "bts", state: "fresh" })).toBe(1);
    // Receipt time is the broker's, on the real clock, whatever the exporter's clock says.
    expect(valueOf(s, "pulse_feed_last_received_timestamp_seconds", { source: "viettel", feed: "bts" })).toBeGreaterThan(
      Date.now() / 1000 - 60,
    );
    expect(valueOf(s, "pulse_exporter_nats_up")).toBe(1);
    expect(s.filter((x) => x.name === "pulse_feed_state" && x.labels.state === "pipeline_behind" && x.value === 1)).toEqual([]);
    // And the figures the events mean. The 30-day and current figures whatever the day:
    expect(valueOf(s, "pulse_subscribers", { source: "viettel", service: "mobile", area: "16681" })).toBe(900);
    expect(valueOf(s, "pulse_kpi_ratio", { kpi: "esign_rate_30d" })).toBeCloseTo(3 / 4, 12);
    expect(valueOf(s, "pulse_kpi_ratio", { kpi: "ftth_coverage" })).toBeCloseTo(42_000 / 840_932, 12);
    if (!eventsToday) {
      // The clock crossed midnight before the scrape: today holds nothing yet.
      const todays = s.filter((x) => x.name === "pulse_esign_documents_today" || x.name === "pulse_egov_submissions_today");
      expect(todays.length).toBeGreaterThan(0);
      expect(todays.filter((x) => x.value !== 0)).toEqual([]);
      expect(valueOf(s, "pulse_kpi_ratio", { kpi: "esign_rate" })).toBeNaN();
      return;
    }
    expect(valueOf(s, "pulse_subscribers", { source: "viettel", service: "mobile", area: "16681" })).toBe(900);
    expect(valueOf(s, "pulse_bts_stations", { source: "viettel", tech: "4G", area: "16681", status: "down" })).toBe(1);
    expect(valueOf(s, "pulse_bts_stations", { source: "viettel", tech: "4G", area: "16681", status: "up" })).toBe(0);
    expect(valueOf(s, "pulse_bts_stations", { source: "viettel", tech: "5G", area: "16681", status: "up" })).toBe(1);
    expect(valueOf(s, "pulse_esign_documents_today", { source: "edoc", agency: "so-khcn", signed: "true" })).toBe(2);
    expect(valueOf(s, "pulse_esign_documents_today", { source: "edoc", agency: "so-khcn", signed: "false" })).toBe(0);
    expect(valueOf(s, "pulse_esign_documents_today", { source: "edoc", agency: "other", signed: "false" })).toBe(1);
    expect(valueOf(s, "pulse_kpi_ratio", { kpi: "esign_rate" })).toBeCloseTo(2 / 3, 12);
    expect(valueOf(s, "pulse_kpi_ratio", { kpi: "esign_rate_30d" })).toBeCloseTo(3 / 4, 12);
    expect(valueOf(s, "pulse_kpi_ratio", { kpi: "ontime_rate" })).toBe(1);
    expect(valueOf(s, "pulse_kpi_ratio", { kpi: "online_share" })).toBeCloseTo(1 / 2, 12);
    // The province's FTTH is the communes' alone: the district's 70,000 of 2025-06-30 are history.
    expect(valueOf(s, "pulse_kpi_ratio", { kpi: "ftth_coverage" })).toBeCloseTo(42_000 / 840_932, 12);
    expect(
      valueOf(s, "pulse_egov_submissions_today", {
        source: "dvc",
        agency: "ubnd-xa",
        level: "commune",
        channel: "online_full",
        status: "resolved_late",
      }),
    ).toBe(0);
    expect(
      valueOf(s, "pulse_egov_submissions_today", {
        source: "dvc",
        agency: "ubnd-xa",
        level: "commune",
        channel: "online_full",
        status: "resolved_on_time",
      }),
    ).toBe(1);
    expect(
      valueOf(s, "pulse_egov_submissions_today", {
        source: "dvc",
        agency: "ubnd-xa",
        level: "commune",
        channel: "in_person",
        status: "received",
      }),
    ).toBe(1);
  });

  it("lets Prometheus scrape ingest and the exporter: the pipeline dashboard shows data", async () => {
    const prometheus = await startPrometheus(prometheusFiles({ exporterPort: exporter.port, ingestPort: h.ingest!.port }));
    try {
      // rate() needs two samples of each series.
      await eventually(
        async () => ((await promQuery(prometheus.url, "sum(rate(pulse_ingest_events_total[1m]))"))[0] ? true : undefined),
        30_000,
        "ingest scraped twice",
      );
      // The exporter's first scrape (some 11,000 zero-filled series, read per scrape here) may end after ingest's.
      const up = await eventually(
        async () => {
          const r = await promQuery(prometheus.url, 'up{job=~"pulse-ingest|pulse-exporter"}');
          return r.length === 2 ? r : undefined;
        },
        30_000,
        "both targets scraped",
      );
      expect(up.map((r) => r.value[1])).toEqual(["1", "1"]);
      const inserted = await promQuery(prometheus.url, 'sum(pulse_ingest_events_total{outcome="inserted"})');
      expect(Number(inserted[0]!.value[1])).toBeGreaterThan(0);
      const pipeline = dashboardQueries().queries.filter((q) => q.dashboard === "pipeline-health.json" && q.kind === "promql");
      let withData = 0;
      for (const q of pipeline) if ((await promQuery(prometheus.url, expandPromql(q.query))).length > 0) withData++;
      // Most panels have data; the rest are zero-rate histograms of an idle ingest or live's.
      expect(withData).toBeGreaterThan(pipeline.length / 2);
    } finally {
      await prometheus.close();
    }
  });

  it("blames the pipeline when ingest stops and messages wait", async () => {
    await h.stopIngest();
    await h.publish("bts", "vinaphone", make.bts("v1", "C", "up", { ts: local(Date.now()) }));
    // pending > 0 with the delivered sequence not moving: stalled after EXPORTER_STALL_MS.
    const e2 = await startExporter(
      loadConfig(
        {
          DATABASE_URL: h.database.url,
          METRICS_PORT: "0",
          NATS_URL: h.config.natsUrl,
          EXPORTER_CACHE_MS: "0",
          EXPORTER_STALL_MS: "1000",
          LOG_LEVEL: "silent",
        },
        { names: h.names },
      ),
    );
    try {
      await new Promise((r) => setTimeout(r, 1_200));
      await e2.pipeline.poll();
      expect([...e2.pipeline.behind()]).toEqual(["bts"]);
      const s = parseMetrics(await (await fetch(`http://127.0.0.1:${e2.port}/metrics`)).text());
      // vinaphone bts was never received: silent, but it is ingest's fault.
      expect(valueOf(s, "pulse_feed_state", { source: "vinaphone", feed: "bts", state: "pipeline_behind" })).toBe(1);
      expect(valueOf(s, "pulse_feed_state", { source: "mobifone", feed: "subscribers", state: "silent" })).toBe(1);
    } finally {
      await e2.close();
    }
  });
});
