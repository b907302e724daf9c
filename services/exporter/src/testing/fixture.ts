import type { Db } from "@pulse/db";
import { localDayStart, reasonCodes } from "@pulse/contracts";

const day = 86_400_000;

/**
 * A known set of table rows around `now`, with what the exporter must show for them. Test
 * support: the figures ingest would leave after events with duplicates, restatements and late
 * events (those only ever change these rows, which is why the rows are what we compare).
 */
export async function insertFixture(db: Db["db"], now: number): Promise<void> {
  const at = new Date(now);
  const today = new Date(localDayStart(now));
  const yesterday = new Date(localDayStart(now) - day);
  const longAgo = new Date(localDayStart(now) - 40 * day);
  const gauge = (source: string, service: string, area: string, count: number) => ({
    source,
    service,
    area,
    count,
    ts: at,
    revision: 0,
    event_id: `${source}-${service}-${area}`,
  });
  await db
    .insertInto("subscriber_gauges")
    .values([
      gauge("viettel", "mobile", "16681", 1_000_000), // Phường Thành Vinh
      gauge("viettel", "ftth", "16681", 50_000),
      gauge("vinaphone", "ftth", "16732", 10_000), // Phường Cửa Lò
      gauge("mobifone", "mobile_broadband", "17506", 7), // Xã Yên Thành
      // History: districts last reported before 2025-07-01 (Vinh, Cửa Lò), kept but not current.
      gauge("viettel", "mobile", "412", 900_000),
      gauge("viettel", "ftth", "412", 77_000),
      gauge("vinaphone", "ftth", "413", 3_000),
      gauge("viettel", "mobile", "999", 5), // not a code of this province: not current either
    ])
    .execute();

  let n = 0;
  const station = (source: string, tech: string, area: string, status: string) => ({
    source,
    station: `st-${n++}`,
    tech,
    area,
    status,
    since: at,
    ts: at,
    revision: 0,
    event_id: `e-${n}`,
  });
  await db
    .insertInto("bts_stations")
    .values([
      station("viettel", "4G", "16681", "up"),
      station("viettel", "4G", "16681", "up"),
      station("viettel", "4G", "16681", "up"),
      station("viettel", "4G", "16681", "down"),
      station("viettel", "5G", "16681", "degraded"),
      station("vinaphone", "3G", "16732", "removed"),
      station("vinaphone", "3G", "16732", "removed"),
      station("mobifone", "4G", "426", "down"), // last reported in Huyện Yên Thành: history
      station("mobifone", "4G", "413", "up"),
      station("viettel", "6G", "16681", "up"), // unknown tech: folded
    ])
    .execute();

  const esign = (
    grain: "minute" | "hour" | "day",
    bucket: Date,
    agency: string,
    signed: boolean,
    signer: string,
    count: number,
    area = "40",
  ) => ({ grain, bucket, source: "edoc", agency, area, signed, signer, count });
  await db
    .insertInto("esign_counts")
    .values([
      esign("day", today, "ubnd-tinh", true, "organization", 90),
      esign("day", today, "ubnd-tinh", true, "personal", 5),
      esign("day", today, "ubnd-tinh", false, "organization", 5),
      esign("day", today, "so-moi", true, "organization", 10), // unknown agency: folded
      esign("day", yesterday, "ubnd-tinh", true, "organization", 100),
      esign("day", yesterday, "ubnd-tinh", false, "organization", 50),
      esign("day", longAgo, "ubnd-tinh", false, "organization", 1000),
      esign("hour", today, "ubnd-tinh", true, "organization", 777), // other grains never count
      esign("minute", today, "ubnd-tinh", true, "organization", 555),
    ])
    .execute();

  const egov = (bucket: Date, channel: string, status: string, count: number, area = "40", grain: "minute" | "hour" | "day" = "day") => ({
    grain,
    bucket,
    source: "dvc",
    agency: "so-khcn",
    level: "province",
    channel,
    status,
    area,
    count,
  });
  await db
    .insertInto("egov_counts")
    .values([
      egov(today, "online_full", "received", 30),
      egov(today, "online_full", "received", 10, "16681"), // same series, another area: summed
      egov(today, "online_partial", "received", 50),
      egov(today, "in_person", "received", 20),
      egov(today, "in_person", "resolved_on_time", 19),
      egov(today, "in_person", "resolved_late", 1),
      egov(today, "in_person", "rejected", 7),
      egov(yesterday, "online_full", "received", 1000),
      egov(today, "online_full", "received", 999, "40", "hour"),
    ])
    .execute();

  const feed = (source: string, feedName: string, agoS: number) => ({
    source,
    feed: feedName,
    last_received_at: new Date(now - agoS * 1000),
    last_event_ts: null,
    events: 1,
  });
  await db
    .insertInto("feed_status")
    .values([
      feed("viettel", "bts", 30), // cadence 60: fresh
      feed("vinaphone", "bts", 150), // late
      feed("mobifone", "bts", 300), // silent
      feed("viettel", "subscribers", 10),
      feed("dvc", "egov", 100),
      feed("nobody", "bts", 1), // unknown pair: noted, not shown
    ])
    .execute();

  const dl = (reason: string, seq: number, retried: boolean) => ({
    stream: "FEEDS_BTS",
    stream_seq: seq,
    received_at: at,
    subject: "feeds.bts.viettel",
    reason,
    detail: "x",
    payload: new Uint8Array([1]),
    retried_at: retried ? at : null,
  });
  await db
    .insertInto("dead_letters")
    .values([
      dl("bad_json", 1, false),
      dl("bad_json", 2, false),
      dl("bad_json", 3, true),
      dl("future_time", 4, false),
      dl("weird_reason", 5, false),
    ])
    .execute();
}

/** What the exporter must show for `insertFixture` (when `now` is inside office hours). */
export const fixtureExpectations: { name: string; labels: Record<string, string>; value: number }[] = [
  { name: "pulse_subscribers", labels: { source: "viettel", service: "mobile", area: "16681" }, value: 1_000_000 },
  { name: "pulse_subscribers", labels: { source: "viettel", service: "ftth", area: "16681" }, value: 50_000 },
  { name: "pulse_subscribers", labels: { source: "vinaphone", service: "ftth", area: "16732" }, value: 10_000 },
  { name: "pulse_subscribers", labels: { source: "mobifone", service: "mobile_broadband", area: "17506" }, value: 7 },
  { name: "pulse_subscribers", labels: { source: "vietnamobile", service: "mobile", area: "17128" }, value: 0 },
  { name: "pulse_bts_stations", labels: { source: "viettel", tech: "4G", area: "16681", status: "up" }, value: 3 },
  { name: "pulse_bts_stations", labels: { source: "viettel", tech: "4G", area: "16681", status: "down" }, value: 1 },
  { name: "pulse_bts_stations", labels: { source: "viettel", tech: "5G", area: "16681", status: "degraded" }, value: 1 },
  { name: "pulse_bts_stations", labels: { source: "vinaphone", tech: "3G", area: "16732", status: "removed" }, value: 2 },
  { name: "pulse_bts_stations", labels: { source: "viettel", tech: "other", area: "16681", status: "up" }, value: 1 },
  { name: "pulse_bts_stations", labels: { source: "mobifone", tech: "2G", area: "17035", status: "down" }, value: 0 },
  { name: "pulse_retired_area_readings", labels: { feed: "subscribers" }, value: 4 },
  { name: "pulse_retired_area_readings", labels: { feed: "bts" }, value: 2 },
  { name: "pulse_area_info", labels: { area: "16732", former_district: "412", name_vi: "Phường Cửa Lò" }, value: 1 },
  { name: "pulse_area_info", labels: { area: "17506", former_district: "426", name_vi: "Xã Yên Thành" }, value: 1 },
  { name: "pulse_esign_documents_today", labels: { source: "edoc", agency: "ubnd-tinh", signed: "true" }, value: 95 },
  { name: "pulse_esign_documents_today", labels: { source: "edoc", agency: "ubnd-tinh", signed: "false" }, value: 5 },
  { name: "pulse_esign_documents_today", labels: { source: "edoc", agency: "other", signed: "true" }, value: 10 },
  { name: "pulse_esign_documents_today", labels: { source: "edoc", agency: "so-yte", signed: "true" }, value: 0 },
  {
    name: "pulse_egov_submissions_today",
    labels: { source: "dvc", agency: "so-khcn", level: "province", channel: "online_full", status: "received" },
    value: 40,
  },
  {
    name: "pulse_egov_submissions_today",
    labels: { source: "dvc", agency: "so-khcn", level: "province", channel: "online_partial", status: "received" },
    value: 50,
  },
  {
    name: "pulse_egov_submissions_today",
    labels: { source: "dvc", agency: "so-khcn", level: "province", channel: "in_person", status: "resolved_on_time" },
    value: 19,
  },
  {
    name: "pulse_egov_submissions_today",
    labels: { source: "dvc", agency: "so-khcn", level: "province", channel: "in_person", status: "rejected" },
    value: 7,
  },
  {
    name: "pulse_egov_submissions_today",
    labels: { source: "dvc", agency: "ubnd-xa", level: "commune", channel: "in_person", status: "received" },
    value: 0,
  },
  { name: "pulse_kpi_ratio", labels: { kpi: "esign_rate" }, value: 105 / 110 },
  { name: "pulse_kpi_ratio", labels: { kpi: "esign_rate_30d" }, value: 205 / 260 },
  { name: "pulse_kpi_ratio", labels: { kpi: "online_share" }, value: 90 / 110 },
  { name: "pulse_kpi_ratio", labels: { kpi: "online_full_share" }, value: 40 / 110 },
  { name: "pulse_kpi_ratio", labels: { kpi: "ontime_rate" }, value: 19 / 20 },
  // The communes' FTTH alone: the districts' 80,000 households are history.
  { name: "pulse_kpi_ratio", labels: { kpi: "ftth_coverage" }, value: 60_000 / 840_932 },
  { name: "pulse_feed_state", labels: { source: "viettel", feed: "bts", state: "fresh" }, value: 1 },
  { name: "pulse_feed_state", labels: { source: "vinaphone", feed: "bts", state: "late" }, value: 1 },
  { name: "pulse_feed_state", labels: { source: "mobifone", feed: "bts", state: "silent" }, value: 1 },
  { name: "pulse_feed_state", labels: { source: "vietnamobile", feed: "bts", state: "silent" }, value: 1 },
  { name: "pulse_feed_state", labels: { source: "dvc", feed: "egov", state: "fresh" }, value: 1 },
  { name: "pulse_feed_state", labels: { source: "edoc", feed: "esign", state: "silent" }, value: 1 },
  { name: "pulse_feed_state", labels: { source: "viettel", feed: "bts", state: "late" }, value: 0 },
  { name: "pulse_dead_letters_stored", labels: { reason: "bad_json" }, value: 2 },
  { name: "pulse_dead_letters_stored", labels: { reason: "future_time" }, value: 1 },
  { name: "pulse_dead_letters_stored", labels: { reason: "other" }, value: 1 },
  { name: "pulse_dead_letters_stored", labels: { reason: "too_large" }, value: 0 },
];

/**
 * The number of series per domain metric the seeds make (zero-filled from the start), on a day
 * after 2025-09-30: 130 communes and wards, the 17 agencies in force and `other`, two levels
 * (province, commune: the district level's grace for older dossiers has ended).
 */
export const seededSeriesCounts = {
  pulse_subscribers: 4 * 4 * 130,
  pulse_bts_stations: 4 * 4 * 130 * 4,
  pulse_area_info: 130,
  pulse_retired_area_readings: 2,
  pulse_esign_documents_today: 1 * 18 * 2,
  pulse_egov_submissions_today: 1 * 18 * 2 * 3 * 4,
  pulse_kpi_ratio: 6,
  pulse_feed_last_received_timestamp_seconds: 10,
  pulse_feed_state: 40,
  pulse_dead_letters_stored: reasonCodes.length + 1,
};
