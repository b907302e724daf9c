/**
 * The change log every transaction of ingest writes, relayed in order to the stream LIVE on
 * `live.<metric>`. One LIVE message is one change row: all keys of one metric that one
 * transaction changed, each with its new absolute value. Its version is `change_id`; a receiver
 * keeps, per key, the value of the highest version it has seen, so a duplicate or a reordering
 * is harmless.
 */
export const liveMetrics = {
  /** Latest subscriber count. key: source, service, area. value: count. */
  subscribers: "subscribers",
  /** Stations by status. key: source, tech, area, status. value: count. */
  bts_stations: "bts_stations",
  /** One station's state. key: source, station. value: { tech, area, status, since } or null. */
  bts_station: "bts_station",
  /** Documents per UTC+7 day. key: day, source, agency, area, signed, signer. value: count. */
  esign_day: "esign_day",
  /** Dossier steps per UTC+7 day. key: day, source, agency, level, channel, status, area. value: count. */
  egov_day: "egov_day",
  /** `received` steps per minute, province-wide. key: minute. value: count. */
  egov_minute: "egov_minute",
  /** Receipt of a feed. key: source, feed. value: { last_received_at, last_event_ts, events }. */
  feed: "feed",
} as const;

export type LiveMetric = keyof typeof liveMetrics;

export type LiveKey = Record<string, string>;
export type LiveValue = number | Record<string, string | number | boolean | null> | null;

export interface LiveEntry {
  key: LiveKey;
  value: LiveValue;
}

/** The body of one LIVE message. */
export interface LiveChange {
  change_id: number;
  metric: LiveMetric;
  /**
   * When the change was written, the last statement before its transaction commits (ISO 8601,
   * UTC): within milliseconds of the commit, and in change-id order.
   */
  at: string;
  entries: LiveEntry[];
}

/** Header carrying the change id on LIVE messages (also used as Nats-Msg-Id). */
export const changeIdHeader = "Pulse-Change-Id";

/** A stable text form of a key, for maps. Keys are sorted so field order never matters. */
export const keyString = (key: LiveKey): string =>
  Object.keys(key)
    .sort()
    .map((k) => `${k}=${key[k]}`)
    .join("|");
