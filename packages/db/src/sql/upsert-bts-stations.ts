import { sql, type Kysely } from "kysely";
import type { Database } from "../database";

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
  since: Date;
}

/** A station after a change; null fields when the station no longer has any reading. */
export type StationValue = StationKey & { state: Omit<StationState, "source" | "station"> | null };

export interface StationGroup {
  source: string;
  tech: string;
  area: string;
}

/** Current state of the given stations (before a batch changes them). */
export async function stationStates(db: Kysely<Database>, keys: readonly StationKey[]): Promise<StationState[]> {
  if (keys.length === 0) return [];
  const r = await sql<StationState>`
    SELECT s.source, s.station, s.tech, s.area, s.status, s.since FROM bts_stations s
    JOIN unnest(${keys.map((k) => k.source)}::text[], ${keys.map((k) => k.station)}::text[]) AS k(source, station)
      ON s.source = k.source AND s.station = k.station`.execute(db);
  return r.rows;
}

const toValue = (x: StationState): StationValue => ({
  source: x.source,
  station: x.station,
  state: { tech: x.tech, area: x.area, status: x.status, since: x.since },
});

/**
 * Applies readings to the per-station state; order (ts, revision, id) compared in SQL, the
 * latest per station within the batch first. `since` moves only when the status changes.
 */
export async function upsertBtsStations(db: Kysely<Database>, rows: readonly StationReading[]): Promise<StationValue[]> {
  if (rows.length === 0) return [];
  const r = await sql<StationState>`
    INSERT INTO bts_stations AS s (source, station, tech, area, status, since, ts, revision, event_id)
    SELECT DISTINCT ON (source, station) source, station, tech, area, status, ts, ts, revision, id
    FROM json_to_recordset(${JSON.stringify(rows)}::json)
      AS c(source text, station text, tech text, area text, status text, ts timestamptz, revision int, id text)
    ORDER BY source, station, ts DESC, revision DESC, id COLLATE "C" DESC
    ON CONFLICT (source, station) DO UPDATE SET
      tech = excluded.tech, area = excluded.area, status = excluded.status,
      since = CASE WHEN s.status = excluded.status THEN s.since ELSE excluded.ts END,
      ts = excluded.ts, revision = excluded.revision, event_id = excluded.event_id, updated_at = now()
    WHERE (excluded.ts, excluded.revision, excluded.event_id COLLATE "C") > (s.ts, s.revision, s.event_id COLLATE "C")
       OR excluded.event_id = s.event_id
    RETURNING s.source, s.station, s.tech, s.area, s.status, s.since`.execute(db);
  return r.rows.map(toValue);
}

/** Sets each station from its latest reading in `events`; removes a station left with none. */
export async function recomputeBtsStations(db: Kysely<Database>, keys: readonly StationKey[]): Promise<StationValue[]> {
  if (keys.length === 0) return [];
  const k = [...keys].sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.station < b.station ? -1 : a.station > b.station ? 1 : 0));
  const set = await sql<StationState>`
    INSERT INTO bts_stations AS s (source, station, tech, area, status, since, ts, revision, event_id)
    SELECT k.source, k.station, e.data->>'tech', e.area, e.data->>'status', e.ts, e.ts, e.revision, e.id
    FROM unnest(${k.map((x) => x.source)}::text[], ${k.map((x) => x.station)}::text[]) AS k(source, station)
    CROSS JOIN LATERAL (
      SELECT * FROM events e WHERE e.feed = 'bts' AND e.source = k.source AND e.data->>'station' = k.station
      ORDER BY e.ts DESC, e.revision DESC, e.id COLLATE "C" DESC LIMIT 1
    ) e
    ON CONFLICT (source, station) DO UPDATE SET
      tech = excluded.tech, area = excluded.area, status = excluded.status,
      since = CASE WHEN s.status = excluded.status THEN s.since ELSE excluded.ts END,
      ts = excluded.ts, revision = excluded.revision, event_id = excluded.event_id, updated_at = now()
    WHERE (s.tech, s.area, s.status, s.ts, s.revision, s.event_id) IS DISTINCT FROM
          (excluded.tech, excluded.area, excluded.status, excluded.ts, excluded.revision, excluded.event_id)
    RETURNING s.source, s.station, s.tech, s.area, s.status, s.since`.execute(db);
  const gone = await sql<StationKey>`
    DELETE FROM bts_stations s
    USING unnest(${k.map((x) => x.source)}::text[], ${k.map((x) => x.station)}::text[]) AS k(source, station)
    WHERE s.source = k.source AND s.station = k.station
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.feed = 'bts' AND e.source = k.source AND e.data->>'station' = k.station)
    RETURNING s.source, s.station`.execute(db);
  return [...set.rows.map(toValue), ...gone.rows.map((x) => ({ ...x, state: null }))];
}

/** Stations by status in the given (source, tech, area) groups: every status, zeros included. */
export async function stationCounts(
  db: Kysely<Database>,
  groups: readonly StationGroup[],
  statuses: readonly string[],
): Promise<(StationGroup & { status: string; count: number })[]> {
  if (groups.length === 0) return [];
  const r = await sql<StationGroup & { status: string; count: number }>`
    SELECT k.source, k.tech, k.area, st.status, count(s.station)::bigint AS count
    FROM unnest(${groups.map((g) => g.source)}::text[], ${groups.map((g) => g.tech)}::text[], ${groups.map((g) => g.area)}::text[]) AS k(source, tech, area)
    CROSS JOIN unnest(${[...statuses]}::text[]) AS st(status)
    LEFT JOIN bts_stations s ON s.source = k.source AND s.tech = k.tech AND s.area = k.area AND s.status = st.status
    GROUP BY k.source, k.tech, k.area, st.status
    ORDER BY 1, 2, 3, 4`.execute(db);
  return r.rows;
}
