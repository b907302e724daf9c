import { sql, type Kysely } from "kysely";
import { executePrepared } from "../create-db";
import type { Database } from "../database";
import { booleanArray, numberArray, textArray, timeArray } from "./array-literal";

/** One event's contribution to the counts: +1 for a new version, -1 to take a replaced one out. */
export interface EsignContribution {
  ts: string | Date;
  source: string;
  agency: string;
  area: string;
  signed: boolean;
  signer: string;
  delta: number;
}

export interface EgovContribution {
  ts: string | Date;
  source: string;
  agency: string;
  level: string;
  channel: string;
  status: string;
  area: string;
  delta: number;
}

/** A day bucket after the upsert: its local date (UTC+7) and new absolute count. */
export type DayCount<K> = K & { day: string; count: number };

/**
 * Adds contributions to the minute, hour and day buckets. Bucketing and grouping happen in SQL
 * (days in Asia/Ho_Chi_Minh, written out, never the session's zone), so one statement carries
 * one row per key, in key order. Returns the day buckets' new absolute counts. The contributions
 * travel as one array per column (see `upsertEvents`).
 *
 * Two steps: the contributions are summed per (minute, hour, day, key), each bucket truncated
 * from the event's own time, then each grain sums those few hundred rows. Grouping the two
 * thousand contributions once instead of once per grain makes the statement about a tenth
 * cheaper. (Deriving the hour and day from the minute bucket would be cheaper still, but not
 * exact: across the zone's 1911 change of offset by 6 min 30 s, a minute bucket's own hour is
 * not its events' hour.)
 *
 * Both statements run prepared (`executePrepared`): fixed texts, and the one lookup (the received
 * minutes' totals) is by primary-key prefix whatever the values.
 */
export async function upsertEsignCounts(
  db: Kysely<Database>,
  c: readonly EsignContribution[],
): Promise<DayCount<Omit<EsignContribution, "ts" | "delta">>[]> {
  if (c.length === 0) return [];
  // Only the day buckets come back (the change log carries them): parsing the minute and hour
  // rows too would cost more than the upsert itself.
  const r = await executePrepared(
    db,
    sql<DayCount<Omit<EsignContribution, "ts" | "delta">>>`
    WITH c AS MATERIALIZED (
      SELECT date_trunc('minute', c.ts, 'Asia/Ho_Chi_Minh') AS minute, date_trunc('hour', c.ts, 'Asia/Ho_Chi_Minh') AS hour, date_trunc('day', c.ts, 'Asia/Ho_Chi_Minh') AS day,
        source, agency, area, signed, signer, sum(delta)::bigint AS delta
      FROM unnest(${timeArray(c.map((x) => x.ts))}::timestamptz[], ${textArray(c.map((x) => x.source))}::text[],
        ${textArray(c.map((x) => x.agency))}::text[], ${textArray(c.map((x) => x.area))}::text[], ${booleanArray(c.map((x) => x.signed))}::boolean[],
        ${textArray(c.map((x) => x.signer))}::text[], ${numberArray(c.map((x) => x.delta))}::int[])
        AS c(ts, source, agency, area, signed, signer, delta)
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ), g AS (
      SELECT 'minute' AS grain, minute AS bucket, source, agency, area, signed, signer, sum(delta)::bigint AS delta FROM c GROUP BY 2, 3, 4, 5, 6, 7
      UNION ALL
      SELECT 'hour', hour, source, agency, area, signed, signer, sum(delta)::bigint FROM c GROUP BY 2, 3, 4, 5, 6, 7
      UNION ALL
      SELECT 'day', day, source, agency, area, signed, signer, sum(delta)::bigint FROM c GROUP BY 2, 3, 4, 5, 6, 7
    ), up AS (
      INSERT INTO esign_counts AS t (grain, bucket, source, agency, area, signed, signer, count)
      SELECT * FROM g WHERE delta <> 0 ORDER BY grain, bucket, source, agency, area, signed, signer
      ON CONFLICT (grain, bucket, source, agency, area, signed, signer) DO UPDATE SET count = t.count + excluded.count
      RETURNING t.*
    )
    SELECT to_char(bucket AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD') AS day, source, agency, area, signed, signer, count
    FROM up WHERE grain = 'day'`,
  );
  return r.rows;
}

/**
 * Egov's buckets, as `upsertEsignCounts`; also returns the province-wide count of `received`
 * steps in every minute bucket it changed, read in the same statement: the table as the
 * statement found it (the feed's lock keeps every other writer of these rows out) plus this
 * batch's deltas.
 */
export async function upsertEgovCounts(
  db: Kysely<Database>,
  c: readonly EgovContribution[],
): Promise<{ days: DayCount<Omit<EgovContribution, "ts" | "delta">>[]; receivedMinutes: { minute: Date; count: number }[] }> {
  if (c.length === 0) return { days: [], receivedMinutes: [] };
  const r = await executePrepared(
    db,
    sql<DayCount<Omit<EgovContribution, "ts" | "delta">> & { grain: string; bucket: Date }>`
    WITH c AS MATERIALIZED (
      SELECT date_trunc('minute', c.ts, 'Asia/Ho_Chi_Minh') AS minute, date_trunc('hour', c.ts, 'Asia/Ho_Chi_Minh') AS hour, date_trunc('day', c.ts, 'Asia/Ho_Chi_Minh') AS day,
        source, agency, level, channel, status, area, sum(delta)::bigint AS delta
      FROM unnest(${timeArray(c.map((x) => x.ts))}::timestamptz[], ${textArray(c.map((x) => x.source))}::text[],
        ${textArray(c.map((x) => x.agency))}::text[], ${textArray(c.map((x) => x.level))}::text[], ${textArray(c.map((x) => x.channel))}::text[],
        ${textArray(c.map((x) => x.status))}::text[], ${textArray(c.map((x) => x.area))}::text[], ${numberArray(c.map((x) => x.delta))}::int[])
        AS c(ts, source, agency, level, channel, status, area, delta)
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
    ), g AS MATERIALIZED (
      SELECT 'minute' AS grain, minute AS bucket, source, agency, level, channel, status, area, sum(delta)::bigint AS delta FROM c GROUP BY 2, 3, 4, 5, 6, 7, 8
      UNION ALL
      SELECT 'hour', hour, source, agency, level, channel, status, area, sum(delta)::bigint FROM c GROUP BY 2, 3, 4, 5, 6, 7, 8
      UNION ALL
      SELECT 'day', day, source, agency, level, channel, status, area, sum(delta)::bigint FROM c GROUP BY 2, 3, 4, 5, 6, 7, 8
    ), up AS (
      INSERT INTO egov_counts AS t (grain, bucket, source, agency, level, channel, status, area, count)
      SELECT * FROM g WHERE delta <> 0 ORDER BY grain, bucket, source, agency, level, channel, status, area
      ON CONFLICT (grain, bucket, source, agency, level, channel, status, area) DO UPDATE SET count = t.count + excluded.count
      RETURNING t.*
    ), m AS (
      SELECT bucket, sum(delta) AS delta FROM g WHERE grain = 'minute' AND status = 'received' AND delta <> 0 GROUP BY bucket
    )
    -- Day buckets for the change log; and each minute that got received steps, once.
    SELECT grain, bucket, to_char(bucket AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD') AS day, source, agency, level, channel, status, area, count
    FROM up WHERE grain = 'day'
    UNION ALL
    SELECT 'minute', m.bucket, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
      (m.delta + COALESCE((SELECT sum(e.count) FROM egov_counts e WHERE e.grain = 'minute' AND e.status = 'received' AND e.bucket = m.bucket), 0))::bigint
    FROM m`,
  );
  const days = r.rows.filter((x) => x.grain === "day").map(({ grain: _g, bucket: _b, ...rest }) => rest);
  const receivedMinutes = r.rows
    .filter((x) => x.grain === "minute")
    .map((x) => ({ minute: x.bucket, count: x.count }))
    .sort((a, b) => a.minute.getTime() - b.minute.getTime());
  return { days, receivedMinutes };
}
