/**
 * The exporter's part of the metric catalogue: the domain figures Grafana and the alert rules
 * read, and the exporter's own health. Names here are the contract with `infra/` (dashboards,
 * rules); change them here or not at all.
 */
import type { MetricDef } from "./metrics";

const def = <T extends MetricDef>(m: T) => m;

/** Domain figures. Gauges, because a restatement can lower any of them. */
export const domainMetrics = {
  subscribers: def({
    name: "pulse_subscribers",
    type: "gauge",
    help: "Latest subscriber count per carrier, service and commune or ward in force today (area = its code; services overlap: never sum across services).",
    labels: ["source", "service", "area"],
  }),
  btsStations: def({
    name: "pulse_bts_stations",
    type: "gauge",
    help: "BTS stations per carrier, technology, commune or ward in force today (area = its code) and current status.",
    labels: ["source", "tech", "area", "status"],
  }),
  areaInfo: def({
    name: "pulse_area_info",
    type: "gauge",
    help: "1 for each commune or ward in force today (UTC+7), with its former district (the district in force on 2025-06-30) and Vietnamese name: join on area to roll up by former district.",
    labels: ["area", "former_district", "name_vi"],
  }),
  retiredAreaReadings: def({
    name: "pulse_retired_area_readings",
    type: "gauge",
    help: "Subscriber gauges and BTS stations last reported in an area not in force today (a retired district): history, left out of every other series and of the province total.",
    labels: ["feed"],
  }),
  esignToday: def({
    name: "pulse_esign_documents_today",
    type: "gauge",
    help: "E-documents exchanged today (UTC+7 calendar day, by event time), per agency and whether digitally signed.",
    labels: ["source", "agency", "signed"],
  }),
  egovToday: def({
    name: "pulse_egov_submissions_today",
    type: "gauge",
    help: "Public-service dossier steps today (UTC+7 calendar day, by event time), per agency, level, channel and status.",
    labels: ["source", "agency", "level", "channel", "status"],
  }),
  kpi: def({
    name: "pulse_kpi_ratio",
    type: "gauge",
    help: "Province KPIs as ratios 0-1 (NaN when the denominator is zero): esign_rate, esign_rate_30d, online_share, online_full_share, ontime_rate, ftth_coverage (areas in force today over the province's households).",
    labels: ["kpi"],
  }),
  feedLastReceived: def({
    name: "pulse_feed_last_received_timestamp_seconds",
    type: "gauge",
    help: "When ingest last received a message of this feed from this source (Unix seconds; 0 = never).",
    labels: ["source", "feed"],
  }),
  feedState: def({
    name: "pulse_feed_state",
    type: "gauge",
    help: "Freshness of a feed: 1 for the current state (fresh, late, silent, pipeline_behind), 0 for the others. Office-hours sources are fresh outside their calendar.",
    labels: ["source", "feed", "state"],
  }),
  deadLettersStored: def({
    name: "pulse_dead_letters_stored",
    type: "gauge",
    help: "Dead letters held and not yet retried, by reason code.",
    labels: ["reason"],
  }),
} as const;

/** The exporter's own health (process defaults come with the prefix `pulse_exporter_`). */
export const exporterMetrics = {
  dbErrors: def({
    name: "pulse_exporter_db_errors_total",
    type: "counter",
    help: "Failed reads of the figures from Postgres (the last good figures are served meanwhile).",
    labels: [],
  }),
  dbUp: def({ name: "pulse_exporter_db_up", type: "gauge", help: "1 when the last read from Postgres succeeded.", labels: [] }),
  natsUp: def({
    name: "pulse_exporter_nats_up",
    type: "gauge",
    help: "1 when the exporter could read the feed consumers' backlog from NATS (needed to tell pipeline_behind).",
    labels: [],
  }),
  refreshSeconds: def({
    name: "pulse_exporter_refresh_duration_seconds",
    type: "histogram",
    help: "Time to read every figure from Postgres (one query per table).",
    labels: [],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  }),
  scrapeSeconds: def({
    name: "pulse_exporter_scrape_duration_seconds",
    type: "histogram",
    help: "Time to answer one /metrics request (observed after the answer, so it shows from the next scrape).",
    labels: [],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
  }),
  lastRefresh: def({
    name: "pulse_exporter_last_refresh_timestamp_seconds",
    type: "gauge",
    help: "When the figures were last read from Postgres successfully (Unix seconds).",
    labels: [],
  }),
  folded: def({
    name: "pulse_exporter_unknown_label_values",
    type: "gauge",
    help: "Distinct label values outside the seeded sets seen in the last read, folded into `other`, by metric and label.",
    labels: ["metric", "label"],
  }),
} as const;

/** The value a label outside the known sets is folded into. */
export const otherLabel = "other";

/** Vietnamese and English names of the domain figures, for dashboards and screens. */
export const domainMetricLabels: Record<keyof typeof domainMetrics, { vi: string; en: string }> = {
  subscribers: { vi: "Thuê bao", en: "Subscribers" },
  btsStations: { vi: "Trạm BTS", en: "BTS stations" },
  areaInfo: { vi: "Xã, phường", en: "Communes and wards" },
  retiredAreaReadings: { vi: "Số liệu ở địa bàn cũ", en: "Readings in retired areas" },
  esignToday: { vi: "Văn bản điện tử hôm nay", en: "E-documents today" },
  egovToday: { vi: "Hồ sơ dịch vụ công hôm nay", en: "Public-service dossier steps today" },
  kpi: { vi: "Chỉ tiêu", en: "KPI" },
  feedLastReceived: { vi: "Lần nhận dữ liệu cuối", en: "Last received" },
  feedState: { vi: "Trạng thái nguồn dữ liệu", en: "Feed state" },
  deadLettersStored: { vi: "Bản tin lỗi đang giữ", en: "Dead letters held" },
};

/** Vietnamese and English names of the label values screens show. */
export const labelValueNames: Record<string, Record<string, { vi: string; en: string }>> = {
  service: {
    mobile: { vi: "Di động", en: "Mobile" },
    mobile_broadband: { vi: "Băng rộng di động", en: "Mobile broadband" },
    fixed_broadband: { vi: "Băng rộng cố định", en: "Fixed broadband" },
    ftth: { vi: "Cáp quang (FTTH)", en: "Fibre (FTTH)" },
  },
  status: {
    up: { vi: "Hoạt động", en: "Up" },
    degraded: { vi: "Suy giảm", en: "Degraded" },
    down: { vi: "Mất liên lạc", en: "Down" },
    removed: { vi: "Đã gỡ", en: "Removed" },
    received: { vi: "Tiếp nhận", en: "Received" },
    resolved_on_time: { vi: "Giải quyết đúng hạn", en: "Resolved on time" },
    resolved_late: { vi: "Giải quyết quá hạn", en: "Resolved late" },
    rejected: { vi: "Từ chối", en: "Rejected" },
  },
  channel: {
    online_full: { vi: "Trực tuyến toàn trình", en: "Fully online" },
    online_partial: { vi: "Trực tuyến một phần", en: "Partly online" },
    in_person: { vi: "Trực tiếp", en: "In person" },
  },
  level: {
    province: { vi: "Cấp tỉnh", en: "Province" },
    district: { vi: "Cấp huyện", en: "District" },
    commune: { vi: "Cấp xã", en: "Commune" },
  },
  signed: {
    true: { vi: "Có ký số", en: "Signed" },
    false: { vi: "Không ký số", en: "Not signed" },
  },
};
