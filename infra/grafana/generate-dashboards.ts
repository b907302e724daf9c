/**
 * Writes the dashboards of infra/grafana/dashboards/*.json. The JSON files are what Grafana
 * loads and what is reviewed; this script is how they are kept consistent (one panel helper, the
 * same datasource uids, ids and grid positions computed). Run: `npx tsx infra/grafana/generate-dashboards.ts`.
 *
 * Titles are Vietnamese (the operators' language); descriptions are English. Metric names are
 * those of packages/contracts (domain-metrics.ts, metrics.ts); test/prometheus-*.test.ts runs
 * every PromQL query here against a real Prometheus, and every SQL query against Postgres.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const prom = { type: "prometheus", uid: "pulse-prometheus" };
const pg = { type: "postgres", uid: "pulse-postgres" };

type Panel = Record<string, unknown>;
interface P {
  title: string;
  description: string;
  type?: string;
  w?: number;
  h?: number;
  unit?: string;
  /** PromQL queries: [expr, legend]. */
  q?: [string, string?][];
  /** SQL queries: [sql, format]. */
  sql?: [string, "time_series" | "table"][];
  instant?: boolean;
  thresholds?: { color: string; value: number | null }[];
  options?: Record<string, unknown>;
  min?: number;
  max?: number;
}

function dashboard(
  uid: string,
  title: string,
  description: string,
  rows: P[][],
  vars: Record<string, unknown>[] = [],
  time = "now-6h",
): Record<string, unknown> {
  const panels: Panel[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    let x = 0;
    let rowH = 0;
    for (const p of row) {
      const w = p.w ?? Math.floor(24 / row.length);
      const h = p.h ?? 8;
      const isSql = p.sql !== undefined;
      panels.push({
        id: id++,
        type: p.type ?? "timeseries",
        title: p.title,
        description: p.description,
        datasource: isSql ? pg : prom,
        gridPos: { x, y, w, h },
        fieldConfig: {
          defaults: {
            ...(p.unit ? { unit: p.unit } : {}),
            ...(p.min !== undefined ? { min: p.min } : {}),
            ...(p.max !== undefined ? { max: p.max } : {}),
            ...(p.thresholds ? { thresholds: { mode: "absolute", steps: p.thresholds } } : {}),
          },
          overrides: [],
        },
        options: p.options ?? {},
        targets: isSql
          ? p.sql!.map(([rawSql, format], i) => ({
              refId: String.fromCharCode(65 + i),
              datasource: pg,
              editorMode: "code",
              rawQuery: true,
              format,
              rawSql,
            }))
          : (p.q ?? []).map(([expr, legend], i) => ({
              refId: String.fromCharCode(65 + i),
              datasource: prom,
              expr,
              legendFormat: legend ?? "__auto",
              ...(p.instant ? { instant: true, range: false } : {}),
            })),
      });
      x += w;
      rowH = Math.max(rowH, h);
    }
    y += rowH;
  }
  return {
    uid,
    title,
    description,
    tags: ["pulse"],
    timezone: "Asia/Ho_Chi_Minh",
    schemaVersion: 39,
    version: 1,
    editable: false,
    refresh: "30s",
    time: { from: time, to: "now" },
    templating: { list: vars },
    annotations: { list: [] },
    links: [{ title: "Pulse", type: "dashboards", tags: ["pulse"], asDropdown: true }],
    panels,
  };
}

const ratio = (target: number) => [
  { color: "red", value: null },
  { color: "orange", value: target * 0.95 },
  { color: "green", value: target },
];
const kpiStat = (kpi: string, title: string, target: number, description: string): P => ({
  type: "stat",
  title,
  description: `${description} Target ${Math.round(target * 1000) / 10}% (seeds/data/targets.json). Empty (NaN) when the denominator is zero.`,
  unit: "percentunit",
  q: [[`pulse_kpi_ratio{kpi="${kpi}"}`, title]],
  instant: true,
  thresholds: ratio(target),
  h: 5,
});
const count = (title: string, expr: string, description: string, thresholds?: P["thresholds"]): P => ({
  type: "stat",
  title,
  description,
  unit: "locale",
  q: [[expr, title]],
  instant: true,
  h: 5,
  ...(thresholds ? { thresholds } : {}),
});
const feedStateTable: P = {
  type: "table",
  title: "Trạng thái nguồn dữ liệu",
  description:
    "Current freshness of each (source, feed) by receipt time at ingest: fresh, late (over 1 cadence past due), silent (over 3), pipeline_behind (ingest is the one behind). Office-hours sources are fresh outside their calendar.",
  q: [["pulse_feed_state == 1", "{{source}} {{feed}} {{state}}"]],
  instant: true,
  options: { showHeader: true },
};
/**
 * `pulse_area_info` reduced to one series per area (two exporters scraped would make the join
 * many-to-many), keeping the labels a panel joins on, optionally filtered.
 */
const info = (labels: string, filter = "") => `max by (area, ${labels}) (pulse_area_info${filter ? `{${filter}}` : ""})`;

const promVar = (name: string, label: string, query: string) => ({
  name,
  label,
  type: "query",
  datasource: prom,
  query: { query, refId: "v" },
  definition: query,
  includeAll: true,
  multi: true,
  allValue: ".*",
  current: { selected: true, text: ["All"], value: ["$__all"] },
  refresh: 2,
  sort: 1,
});

// Day buckets are stored as the UTC instant of local midnight (UTC+7); months are grouped in
// Asia/Ho_Chi_Minh explicitly, never in the session's time zone.
const monthOf = (col: string) => `date_trunc('month', ${col}, 'Asia/Ho_Chi_Minh')`;

const overview = dashboard(
  "pulse-overview",
  "Tổng quan tỉnh Nghệ An",
  "Province overview: the KPIs against their targets, subscribers, BTS stations, today's e-documents and dossiers, and the freshness of every feed.",
  [
    [
      kpiStat("ftth_coverage", "Hộ gia đình dùng cáp quang", 0.68, "FTTH households (all carriers) / households (840,932, seeds)."),
      kpiStat("esign_rate", "Văn bản ký số hôm nay", 0.955, "Signed / exchanged e-documents today (UTC+7)."),
      kpiStat("online_share", "Hồ sơ trực tuyến hôm nay", 0.8, "(fully + partly online) / received dossiers today."),
      kpiStat("online_full_share", "Trực tuyến toàn trình", 0.5, "Fully online / received dossiers today."),
      kpiStat("ontime_rate", "Giải quyết đúng hạn", 0.95, "Resolved on time / (on time + late) today; rejected excluded."),
    ],
    [
      count(
        "Thuê bao di động",
        `sum(pulse_subscribers{service="mobile"})`,
        "Mobile subscribers, all carriers and communes and wards in force today (latest counts; the province total).",
      ),
      count(
        "Băng rộng di động",
        `sum(pulse_subscribers{service="mobile_broadband"})`,
        "Mobile broadband subscribers (a subset of mobile: never add the two).",
      ),
      count("Băng rộng cố định", `sum(pulse_subscribers{service="fixed_broadband"})`, "Fixed broadband subscribers."),
      count("Trạm BTS đang có", `sum(pulse_bts_stations{status!="removed"})`, "BTS stations not removed, all carriers."),
      count("Trạm BTS mất liên lạc", `sum(pulse_bts_stations{status="down"})`, "BTS stations whose latest status is down.", [
        { color: "green", value: null },
        { color: "orange", value: 1 },
        { color: "red", value: 20 },
      ]),
      count("Văn bản hôm nay", `sum(pulse_esign_documents_today)`, "E-documents exchanged today (UTC+7, by event time)."),
      count(
        "Số liệu ở địa bàn cũ",
        `sum(pulse_retired_area_readings)`,
        "Subscriber gauges and BTS stations last reported in an area not in force today (a district, before the communes of 2025-07-01): history, left out of every figure above.",
      ),
    ],
    [
      {
        title: "Thuê bao theo nhà mạng",
        description: "Mobile subscribers per carrier over time (Prometheus, live view).",
        q: [[`sum by (source) (pulse_subscribers{service="mobile"})`, "{{source}}"]],
        unit: "locale",
      },
      {
        title: "Hồ sơ tiếp nhận hôm nay theo kênh",
        description: "Dossiers received today, by channel (resets at local midnight).",
        q: [[`sum by (channel) (pulse_egov_submissions_today{status="received"})`, "{{channel}}"]],
        unit: "locale",
      },
      feedStateTable,
    ],
    [
      {
        title: "Văn bản điện tử theo ngày",
        description:
          "E-documents per day by event time, signed and not signed (Postgres day buckets; late events counted in their own day).",
        type: "barchart",
        sql: [
          [
            `SELECT bucket AS time, sum(count) FILTER (WHERE signed) AS "Có ký số", sum(count) FILTER (WHERE NOT signed) AS "Không ký số" FROM esign_counts WHERE grain = 'day' AND $__timeFilter(bucket) GROUP BY bucket ORDER BY bucket`,
            "time_series",
          ],
        ],
        w: 12,
      },
      {
        title: "Hồ sơ tiếp nhận theo ngày",
        description: "Dossiers received per day by event time and channel (Postgres day buckets).",
        type: "barchart",
        sql: [
          [
            `SELECT bucket AS time, sum(count) FILTER (WHERE channel = 'online_full') AS "Toàn trình", sum(count) FILTER (WHERE channel = 'online_partial') AS "Một phần", sum(count) FILTER (WHERE channel = 'in_person') AS "Trực tiếp" FROM egov_counts WHERE grain = 'day' AND status = 'received' AND $__timeFilter(bucket) GROUP BY bucket ORDER BY bucket`,
            "time_series",
          ],
        ],
        w: 12,
      },
    ],
  ],
  [],
  "now-30d",
);

const carriers = dashboard(
  "pulse-carriers",
  "Nhà mạng viễn thông",
  "Carriers: subscribers by service, commune and former district, BTS stations by technology and status, stations down and for how long, and the freshness of the carriers' feeds. The variables pick a former district (the district in force on 2025-06-30) and its communes and wards.",
  [
    [
      {
        title: "Thuê bao theo dịch vụ",
        description:
          "Latest subscriber counts per carrier and service. Services overlap (mobile broadband is part of mobile; FTTH counts households): compare, never add.",
        q: [[`sum by (source, service) (pulse_subscribers{source=~"$source"})`, "{{source}} {{service}}"]],
        unit: "locale",
        w: 12,
      },
      {
        type: "bargauge",
        title: "Hộ dùng cáp quang theo địa bàn huyện cũ",
        description:
          "FTTH households per former district (the sum of its communes and wards in force today, joined on pulse_area_info), selected carriers. Coverage is a province figure only: households per commune or former district have no source.",
        q: [
          [
            `sum by (former_district) (sum by (area) (pulse_subscribers{source=~"$source", service="ftth"}) * on (area) group_left (former_district) ${info("former_district")})`,
            "{{former_district}}",
          ],
        ],
        instant: true,
        unit: "locale",
        w: 12,
      },
    ],
    [
      {
        type: "bargauge",
        title: "Hộ dùng cáp quang theo xã, phường",
        description:
          "FTTH households per commune or ward of the selected former districts and communes, selected carriers (no ratio: no source gives households per commune).",
        q: [
          [
            `sum by (name_vi) (sum by (area) (pulse_subscribers{source=~"$source", service="ftth", area=~"$area"}) * on (area) group_left (name_vi) ${info("name_vi", `former_district=~"$former_district"`)})`,
            "{{name_vi}}",
          ],
        ],
        instant: true,
        unit: "locale",
        w: 24,
      },
    ],
    [
      {
        title: "Trạm BTS theo trạng thái",
        description: "Stations per carrier and status, from the latest state of each station.",
        q: [[`sum by (source, status) (pulse_bts_stations{source=~"$source"})`, "{{source}} {{status}}"]],
        unit: "locale",
        w: 8,
      },
      {
        type: "bargauge",
        title: "Trạm BTS theo công nghệ",
        description: "Stations not removed, per carrier and technology (2G/3G/4G/5G).",
        q: [[`sum by (source, tech) (pulse_bts_stations{source=~"$source", status!="removed"})`, "{{source}} {{tech}}"]],
        instant: true,
        w: 8,
      },
      {
        type: "table",
        title: "Trạm mất liên lạc theo xã, phường",
        description:
          "Communes and wards with stations down now, per carrier, with their former district (the alert PulseBtsDownInFormerDistrict fires at 10 down in one former district for 10 minutes).",
        q: [
          [
            `sum by (source, former_district, name_vi) (pulse_bts_stations{source=~"$source", status="down", area=~"$area"} * on (area) group_left (former_district, name_vi) ${info("former_district, name_vi", `former_district=~"$former_district"`)}) > 0`,
            "{{source}} {{name_vi}} ({{former_district}})",
          ],
        ],
        instant: true,
        w: 8,
      },
    ],
    [
      {
        type: "table",
        title: "Trạm đang mất liên lạc",
        description: "Stations whose latest status is down, longest first, with how long they have been down (Postgres, bts_stations).",
        sql: [
          [
            `SELECT source AS "Nhà mạng", station AS "Trạm", tech AS "Công nghệ", area AS "Mã xã, phường", since AS "Từ lúc", now() - since AS "Thời gian" FROM bts_stations WHERE status = 'down' ORDER BY since LIMIT 500`,
            "table",
          ],
        ],
        w: 12,
      },
      {
        title: "Thời gian từ lần nhận cuối",
        description: "Seconds since ingest last received each carrier feed (cadence in seeds/data/sources.json).",
        q: [
          [
            `time() - pulse_feed_last_received_timestamp_seconds{source=~"$source"} and pulse_feed_last_received_timestamp_seconds > 0`,
            "{{source}} {{feed}}",
          ],
        ],
        unit: "s",
        w: 12,
      },
    ],
  ],
  [
    promVar("source", "Nhà mạng", "label_values(pulse_subscribers, source)"),
    promVar("former_district", "Huyện cũ", "label_values(pulse_area_info, former_district)"),
    {
      // The communes and wards of the chosen former districts, named, their code as the value.
      ...promVar("area", "Xã, phường", `query_result(pulse_area_info{former_district=~"$former_district"})`),
      regex: '/area="(?<value>[^"]+)".*name_vi="(?<text>[^"]+)"/',
    },
  ],
);

const government = dashboard(
  "pulse-government",
  "Dịch vụ công và văn bản điện tử",
  "Government digital services: e-document signing and public-service dossiers today (Prometheus) and by day and month (Postgres buckets, by event time).",
  [
    [
      kpiStat("esign_rate", "Ký số hôm nay", 0.955, "Signed / exchanged e-documents today (UTC+7)."),
      kpiStat("esign_rate_30d", "Ký số 30 ngày", 0.955, "Signed / exchanged e-documents over today and the 29 days before."),
      kpiStat("online_share", "Trực tuyến", 0.8, "(fully + partly online) / received dossiers today."),
      kpiStat("online_full_share", "Toàn trình", 0.5, "Fully online / received dossiers today."),
      kpiStat("ontime_rate", "Đúng hạn", 0.95, "Resolved on time / (on time + late) today."),
    ],
    [
      {
        type: "bargauge",
        title: "Văn bản hôm nay theo cơ quan",
        description: "E-documents exchanged today per agency (agencies outside seeds are folded into 'other').",
        q: [[`sum by (agency, signed) (pulse_esign_documents_today{agency=~"$agency"})`, "{{agency}} ký số={{signed}}"]],
        instant: true,
        w: 12,
      },
      {
        type: "bargauge",
        title: "Hồ sơ hôm nay theo trạng thái",
        description: "Dossier steps today per status and level.",
        q: [[`sum by (level, status) (pulse_egov_submissions_today{agency=~"$agency"})`, "{{level}} {{status}}"]],
        instant: true,
        w: 12,
      },
    ],
    [
      {
        title: "Hồ sơ tiếp nhận mỗi phút",
        description: "Dossiers received per minute, by event time (Postgres minute buckets).",
        sql: [
          [
            `SELECT bucket AS time, sum(count) AS "Hồ sơ/phút" FROM egov_counts WHERE grain = 'minute' AND status = 'received' AND $__timeFilter(bucket) GROUP BY bucket ORDER BY bucket`,
            "time_series",
          ],
        ],
        w: 12,
      },
      {
        title: "Tỷ lệ ký số theo ngày",
        description: "Share of e-documents signed per day, by event time (Postgres day buckets).",
        unit: "percentunit",
        min: 0,
        max: 1,
        sql: [
          [
            `SELECT bucket AS time, sum(count) FILTER (WHERE signed)::float8 / nullif(sum(count), 0) AS "Tỷ lệ ký số" FROM esign_counts WHERE grain = 'day' AND $__timeFilter(bucket) GROUP BY bucket ORDER BY bucket`,
            "time_series",
          ],
        ],
        w: 12,
      },
    ],
    [
      {
        type: "table",
        title: "Hồ sơ theo tháng",
        description: "Dossier steps per month (UTC+7 calendar months), by channel and status, from the day buckets.",
        sql: [
          [
            `SELECT ${monthOf("bucket")} AS "Tháng", channel AS "Kênh", status AS "Trạng thái", sum(count) AS "Số hồ sơ" FROM egov_counts WHERE grain = 'day' AND $__timeFilter(bucket) GROUP BY 1, 2, 3 ORDER BY 1 DESC, 2, 3`,
            "table",
          ],
        ],
        w: 12,
      },
      {
        type: "table",
        title: "Văn bản theo tháng",
        description: "E-documents per month (UTC+7), signed share and signer kind, from the day buckets.",
        sql: [
          [
            `SELECT ${monthOf("bucket")} AS "Tháng", sum(count) AS "Văn bản", sum(count) FILTER (WHERE signed) AS "Có ký số", sum(count) FILTER (WHERE signed AND signer = 'organization') AS "Ký số tổ chức", sum(count) FILTER (WHERE signed AND signer = 'personal') AS "Ký số cá nhân", round(100.0 * sum(count) FILTER (WHERE signed) / nullif(sum(count), 0), 2) AS "Tỷ lệ ký số (%)" FROM esign_counts WHERE grain = 'day' AND $__timeFilter(bucket) GROUP BY 1 ORDER BY 1 DESC`,
            "table",
          ],
        ],
        w: 12,
      },
    ],
  ],
  [promVar("agency", "Cơ quan", "label_values(pulse_egov_submissions_today, agency)")],
  "now-90d",
);

const pipeline = dashboard(
  "pulse-pipeline",
  "Sức khỏe hệ thống Pulse",
  "Pipeline health: services up, events by outcome, dead letters, consumer backlog, batch latency, database reachability, exporter cost, process resources.",
  [
    [
      {
        type: "stat",
        title: "Dịch vụ hoạt động",
        description: "1 when Prometheus can scrape the service (ingest 9465, exporter 9464, live 9466).",
        q: [[`up{job=~"pulse-.*"}`, "{{job}} {{instance}}"]],
        instant: true,
        thresholds: [
          { color: "red", value: null },
          { color: "green", value: 1 },
        ],
        h: 5,
        w: 8,
      },
      {
        type: "stat",
        title: "Kết nối CSDL",
        description: "1 when the service can reach Postgres.",
        q: [
          [`pulse_ingest_db_up`, "ingest {{instance}}"],
          [`pulse_exporter_db_up`, "exporter {{instance}}"],
        ],
        instant: true,
        thresholds: [
          { color: "red", value: null },
          { color: "green", value: 1 },
        ],
        h: 5,
        w: 8,
      },
      {
        type: "stat",
        title: "Bản tin lỗi đang giữ",
        description: "Dead letters held and not yet retried (all reasons).",
        q: [[`sum(pulse_dead_letters_stored)`, "dead letters"]],
        instant: true,
        thresholds: [
          { color: "green", value: null },
          { color: "orange", value: 1 },
        ],
        h: 5,
        w: 8,
      },
    ],
    [
      {
        title: "Bản tin theo kết quả",
        description: "Feed messages settled by ingest per second, by feed and outcome (inserted, restated, duplicate, dead_letter).",
        q: [[`sum by (feed, outcome) (rate(pulse_ingest_events_total[$__rate_interval]))`, "{{feed}} {{outcome}}"]],
        unit: "ops",
        w: 12,
      },
      {
        title: "Bản tin lỗi theo lý do",
        description: "Messages dead-lettered per reason code over the last hour.",
        q: [
          [`sum by (reason) (increase(pulse_ingest_dead_letters_total[1h]))`, "{{reason}}"],
          [`pulse_dead_letters_stored > 0`, "held {{reason}}"],
        ],
        w: 12,
      },
    ],
    [
      {
        title: "Hàng đợi tiêu thụ",
        description:
          "Messages in FEEDS not yet delivered to each feed's consumer (pending) and delivered but not acknowledged (ack pending).",
        q: [
          [`sum by (feed) (pulse_ingest_consumer_pending)`, "pending {{feed}}"],
          [`sum by (feed) (pulse_ingest_consumer_ack_pending)`, "ack pending {{feed}}"],
        ],
        w: 8,
      },
      {
        title: "Độ trễ lô (p95)",
        description: "95th percentile of the time from fetch to commit of one batch, per feed.",
        q: [
          [`histogram_quantile(0.95, sum by (le, feed) (rate(pulse_ingest_batch_duration_seconds_bucket[$__rate_interval])))`, "{{feed}}"],
        ],
        unit: "s",
        w: 8,
      },
      {
        title: "Kích thước lô (p50)",
        description: "Median messages per committed batch, per feed.",
        q: [[`histogram_quantile(0.5, sum by (le, feed) (rate(pulse_ingest_batch_size_bucket[$__rate_interval])))`, "{{feed}}"]],
        w: 8,
      },
    ],
    [
      {
        title: "Giao lại và lỗi CSDL",
        description: "Redeliveries per second by feed, and database errors per second by kind.",
        q: [
          [`sum by (feed) (rate(pulse_ingest_redeliveries_total[$__rate_interval]))`, "redelivered {{feed}}"],
          [`sum by (kind) (rate(pulse_ingest_db_errors_total[$__rate_interval]))`, "db error {{kind}}"],
          [`rate(pulse_exporter_db_errors_total[$__rate_interval])`, "exporter db error"],
        ],
        w: 8,
      },
      {
        title: "Chuyển tiếp thay đổi",
        description: "Change-log rows published to LIVE per second, and rows committed but not yet published.",
        q: [
          [`sum(rate(pulse_ingest_changes_relayed_total[$__rate_interval]))`, "relayed/s"],
          [`sum(pulse_ingest_relay_lag)`, "lag"],
        ],
        w: 8,
      },
      feedStateTable,
    ],
    [
      {
        title: "Thời gian trả lời /metrics của exporter",
        description: "95th percentile of the exporter's scrape answer and of its read of the tables (target under 50 ms).",
        q: [
          [`histogram_quantile(0.95, sum by (le) (rate(pulse_exporter_scrape_duration_seconds_bucket[$__rate_interval])))`, "scrape p95"],
          [`histogram_quantile(0.95, sum by (le) (rate(pulse_exporter_refresh_duration_seconds_bucket[$__rate_interval])))`, "read p95"],
        ],
        unit: "s",
        w: 8,
      },
      {
        title: "CPU",
        description: "CPU seconds per second of each service process.",
        q: [[`rate({__name__=~"pulse_(ingest|exporter|live)_process_cpu_seconds_total"}[$__rate_interval])`, "{{job}}"]],
        unit: "percentunit",
        w: 8,
      },
      {
        title: "Bộ nhớ",
        description: "Resident memory of each service process.",
        q: [[`{__name__=~"pulse_(ingest|exporter|live)_process_resident_memory_bytes"}`, "{{job}}"]],
        unit: "bytes",
        w: 8,
      },
    ],
  ],
);

const out = join(here, "dashboards");
for (const [name, d] of [
  ["province-overview", overview],
  ["carriers", carriers],
  ["government-services", government],
  ["pipeline-health", pipeline],
] as const) {
  writeFileSync(join(out, `${name}.json`), JSON.stringify(d, null, 2) + "\n");
}
