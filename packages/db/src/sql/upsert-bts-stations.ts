import { sql, type Kysely } from "kysely";
import type { Database } from "../database";
import { numberArray, textArray, timeArray } from "./array-literal";

export interface StationReading {
  source: string;
  station: string;
  tech: string;
  area: string;
  status: string;
  ts: string | Date;
  revision: number;
  id: string;
}

export interface StationKey {
  source: string;
  station: string;
}

export interface StationState extends StationKey {
  tech: string;
  area: string;
  status: string;
  /** Start of the current status: the earliest reading of the latest unbroken run of it. */
  since: Date;
}

/**
 * A station's state, with its `since` and the time of the reading that holds it in epoch ms,
 * truncated (a number: a batch reads thousands, and pg's date parsing was a visible share).
 */
export type StoredStation = Omit<StationState, "since"> & { sinceMs: number; tsMs: number };

/** A station after a change; null fields when the station no longer has any reading. */
export type StationValue = StationKey & { state: Omit<StationState, "source" | "station"> | null };

export interface StationGroup {
  source: string;
  tech: string;
  area: string;
}

// Epoch ms of a station's times, truncated: EXTRACT gives an exact numeric (microseconds
// included), floor() truncates to the millisecond as a Date would, and an integer below 2^53 is
// exact as float8. One expression for every statement here, so that a station's `since` before
// and after a batch compare exactly.
const epochMs = (column: string) => sql.raw(`floor(extract(epoch FROM s.${column}) * 1000)::float8`);

/** Current state of the given stations (before a batch changes them). */
export async function stationStates(db: Kysely<Database>, keys: readonly StationKey[]): Promise<StoredStation[]> {
  if (keys.length === 0) return [];
  const r = await sql<StoredStation>`
    SELECT s.source, s.station, s.tech, s.area, s.status, ${epochMs("since")} AS "sinceMs", ${epochMs("ts")} AS "tsMs"
    FROM bts_stations s
    JOIN unnest(${textArray(keys.map((k) => k.source))}::text[], ${textArray(keys.map((k) => k.station))}::text[]) AS k(source, station)
      ON s.source = k.source AND s.station = k.station`.execute(db);
  return r.rows;
}

/** A station as the statements below return it: `since` in epoch ms, truncated (see `stationStates`). */
type ReturnedStation = Omit<StationState, "since"> & { sinceMs: number };

// What the statements below return: `since` as epoch ms, read exactly as `stationStates` reads it,
// so that a caller can tell whether a station's state changed by comparing the two.
const returned = sql`s.source, s.station, s.tech, s.area, s.status, ${epochMs("since")} AS "sinceMs"`;

const toValue = (x: ReturnedStation): StationValue => ({
  source: x.source,
  station: x.station,
  state: { tech: x.tech, area: x.area, status: x.status, since: new Date(x.sinceMs) },
});

/**
 * Applies readings to the per-station state; order (ts, revision, id) compared in SQL, the
 * latest per station within the batch first. `since` moves only when the status changes.
 */
export async function upsertBtsStations(db: Kysely<Database>, rows: readonly StationReading[]): Promise<StationValue[]> {
  if (rows.length === 0) return [];
  const r = await sql<ReturnedStation>`
    INSERT INTO bts_stations AS s (source, station, tech, area, status, since, ts, revision, event_id)
    SELECT DISTINCT ON (source, station) source, station, tech, area, status, ts, ts, revision, id
    FROM unnest(${textArray(rows.map((x) => x.source))}::text[], ${textArray(rows.map((x) => x.station))}::text[], ${textArray(rows.map((x) => x.tech))}::text[],
      ${textArray(rows.map((x) => x.area))}::text[], ${textArray(rows.map((x) => x.status))}::text[], ${timeArray(rows.map((x) => x.ts))}::timestamptz[],
      ${numberArray(rows.map((x) => x.revision))}::int[], ${textArray(rows.map((x) => x.id))}::text[]) AS c(source, station, tech, area, status, ts, revision, id)
    ORDER BY source, station, ts DESC, revision DESC, id COLLATE "C" DESC
    ON CONFLICT (source, station) DO UPDATE SET
      tech = excluded.tech, area = excluded.area, status = excluded.status,
      since = CASE WHEN s.status = excluded.status THEN s.since ELSE excluded.ts END,
      ts = excluded.ts, revision = excluded.revision, event_id = excluded.event_id, updated_at = now()
    WHERE (excluded.ts, excluded.revision, excluded.event_id COLLATE "C") > (s.ts, s.revision, s.event_id COLLATE "C")
       OR excluded.event_id = s.event_id
    RETURNING ${returned}`.execute(db);
  return r.rows.map(toValue);
}

/**
 * Moves a station's `since` back to a reading of its current status that came in late (or sat
 * before the latest one in its batch), when no reading of another status lies between the two:
 * the run of that status started earlier than the state said. The readings must already be in
 * `events` (this runs after `upsertEvents` in the same transaction).
 */
export async function extendStationRuns(
  db: Kysely<Database>,
  rows: readonly { source: string; station: string; status: string; ts: string | Date; revision: number; id: string }[],
): Promise<StationValue[]> {
  if (rows.length === 0) return [];
  // Readings are ordered by (ts, revision, id), as everywhere: a reading of another status at the
  // candidate's very time but after it in that order, or at the run's start time, breaks the run.
  const r = await sql<ReturnedStation>`
    WITH c AS (
      SELECT * FROM unnest(${textArray(rows.map((x) => x.source))}::text[], ${textArray(rows.map((x) => x.station))}::text[], ${textArray(rows.map((x) => x.status))}::text[],
        ${timeArray(rows.map((x) => x.ts))}::timestamptz[], ${numberArray(rows.map((x) => x.revision))}::int[], ${textArray(rows.map((x) => x.id))}::text[])
        AS c(source, station, status, ts, revision, id)
    ), earlier AS (
      SELECT c.source, c.station, min(c.ts) AS since
      FROM c JOIN bts_stations s ON s.source = c.source AND s.station = c.station AND c.status = s.status AND c.ts < s.since
      -- Lateral, so that the station's index range (ts between the two) is what gets read.
      LEFT JOIN LATERAL (
        SELECT 1 AS found FROM events e
        WHERE e.feed = 'bts' AND e.source = c.source AND e.data->>'station' = c.station
          AND (e.ts, e.revision, e.id COLLATE "C") > (c.ts, c.revision, c.id COLLATE "C") AND e.ts <= s.since
          AND e.data->>'status' <> s.status
        LIMIT 1
      ) other ON true
      WHERE other.found IS NULL
      GROUP BY 1, 2
    )
    UPDATE bts_stations s SET since = earlier.since, updated_at = now()
    FROM (SELECT * FROM earlier ORDER BY source, station) earlier
    WHERE s.source = earlier.source AND s.station = earlier.station
    RETURNING ${returned}`.execute(db);
  return r.rows.map(toValue);
}

/**
 * Sets each station from the readings held in `events`: its state from the latest one, `since`
 * from the earliest reading after the last one of another status. For what the fast path of
 * `upsertBtsStations` and `extendStationRuns` cannot know: a restatement, a late reading of
 * another status inside the current run, readings of several statuses in one batch. Removes a
 * station left with no reading.
 */
export async function recomputeBtsStations(db: Kysely<Database>, keys: readonly StationKey[]): Promise<StationValue[]> {
  if (keys.length === 0) return [];
  const k = [...keys].sort((a, b) =>
    a.source < b.source ? -1 : a.source > b.source ? 1 : a.station < b.station ? -1 : a.station > b.station ? 1 : 0,
  );
  const set = await sql<ReturnedStation>`
    INSERT INTO bts_stations AS s (source, station, tech, area, status, since, ts, revision, event_id)
    SELECT k.source, k.station, e.data->>'tech', e.area, e.data->>'status', run.since, e.ts, e.revision, e.id
    FROM unnest(${textArray(k.map((x) => x.source))}::text[], ${textArray(k.map((x) => x.station))}::text[]) AS k(source, station)
    CROSS JOIN LATERAL (
      SELECT * FROM events e WHERE e.feed = 'bts' AND e.source = k.source AND e.data->>'station' = k.station
      ORDER BY e.ts DESC, e.revision DESC, e.id COLLATE "C" DESC LIMIT 1
    ) e
    LEFT JOIN LATERAL (
      SELECT o.ts, o.revision, o.id FROM events o
      WHERE o.feed = 'bts' AND o.source = k.source AND o.data->>'station' = k.station AND o.data->>'status' <> e.data->>'status'
      ORDER BY o.ts DESC, o.revision DESC, o.id COLLATE "C" DESC LIMIT 1
    ) o ON true
    CROSS JOIN LATERAL (
      SELECT min(r.ts) AS since FROM events r
      WHERE r.feed = 'bts' AND r.source = k.source AND r.data->>'station' = k.station
        AND (o.ts IS NULL OR (r.ts, r.revision, r.id COLLATE "C") > (o.ts, o.revision, o.id COLLATE "C"))
    ) run
    ON CONFLICT (source, station) DO UPDATE SET
      tech = excluded.tech, area = excluded.area, status = excluded.status, since = excluded.since,
      ts = excluded.ts, revision = excluded.revision, event_id = excluded.event_id, updated_at = now()
    WHERE (s.tech, s.area, s.status, s.since, s.ts, s.revision, s.event_id) IS DISTINCT FROM
          (excluded.tech, excluded.area, excluded.status, excluded.since, excluded.ts, excluded.revision, excluded.event_id)
    RETURNING ${returned}`.execute(db);
  const gone = await sql<StationKey>`
    DELETE FROM bts_stations s
    USING unnest(${textArray(k.map((x) => x.source))}::text[], ${textArray(k.map((x) => x.station))}::text[]) AS k(source, station)
    WHERE s.source = k.source AND s.station = k.station
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.feed = 'bts' AND e.source = k.source AND e.data->>'station' = k.station)
    RETURNING s.source, s.station`.execute(db);
  return [...set.rows.map(toValue), ...gone.rows.map((x) => ({ ...x, state: null }))];
}

/**
 * Stations by status in the given (source, tech, area) groups: every status, zeros included.
 * One index range count per group and status: a join with a GROUP BY sorted every station of
 * the touched groups and cost several times more per batch.
 */
export async function stationCounts(
  db: Kysely<Database>,
  groups: readonly StationGroup[],
  statuses: readonly string[],
): Promise<(StationGroup & { status: string; count: number })[]> {
  if (groups.length === 0) return [];
  const r = await sql<StationGroup & { status: string; count: number }>`
    SELECT k.source, k.tech, k.area, st.status,
      (SELECT count(*) FROM bts_stations s WHERE s.source = k.source AND s.tech = k.tech AND s.area = k.area AND s.status = st.status)::bigint AS count
    FROM unnest(${textArray(groups.map((g) => g.source))}::text[], ${textArray(groups.map((g) => g.tech))}::text[], ${textArray(groups.map((g) => g.area))}::text[]) AS k(source, tech, area)
    CROSS JOIN unnest(${textArray(statuses)}::text[]) AS st(status)
    ORDER BY 1, 2, 3, 4`.execute(db);
  return r.rows;
}
