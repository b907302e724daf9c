import { sql, type Kysely } from "kysely";
import type { Database } from "../database";
import { numberArray, textArray, timeArray } from "./array-literal";

export interface SubscriberReading {
  source: string;
  service: string;
  area: string;
  count: number;
  ts: string | Date;
  revision: number;
  id: string;
}

export interface GaugeKey {
  source: string;
  service: string;
  area: string;
}

/** A gauge after a change; `count` null when the key no longer has any reading. */
export type GaugeValue = GaugeKey & { count: number | null };

/**
 * Applies readings to the latest-value gauges. Within the batch, the latest reading per key wins
 * (DISTINCT ON); against the table, the order (ts, revision, id) is compared in SQL. A higher
 * revision of the reading that holds the gauge always replaces it. Returns the gauges changed.
 */
export async function upsertSubscriberGauges(db: Kysely<Database>, rows: readonly SubscriberReading[]): Promise<GaugeValue[]> {
  if (rows.length === 0) return [];
  const r = await sql<GaugeValue>`
    INSERT INTO subscriber_gauges AS g (source, service, area, count, ts, revision, event_id)
    SELECT DISTINCT ON (source, service, area) source, service, area, count, ts, revision, id
    FROM unnest(${textArray(rows.map((x) => x.source))}::text[], ${textArray(rows.map((x) => x.service))}::text[], ${textArray(rows.map((x) => x.area))}::text[],
      ${numberArray(rows.map((x) => x.count))}::bigint[], ${timeArray(rows.map((x) => x.ts))}::timestamptz[], ${numberArray(rows.map((x) => x.revision))}::int[],
      ${textArray(rows.map((x) => x.id))}::text[]) AS c(source, service, area, count, ts, revision, id)
    ORDER BY source, service, area, ts DESC, revision DESC, id COLLATE "C" DESC
    ON CONFLICT (source, service, area) DO UPDATE SET
      count = excluded.count, ts = excluded.ts, revision = excluded.revision, event_id = excluded.event_id, updated_at = now()
    WHERE (excluded.ts, excluded.revision, excluded.event_id COLLATE "C") > (g.ts, g.revision, g.event_id COLLATE "C")
       OR excluded.event_id = g.event_id
    RETURNING g.source, g.service, g.area, g.count`.execute(db);
  return r.rows;
}

/**
 * Sets each key's gauge from the latest reading held in `events` (after a restatement moved or
 * lowered a reading), and removes the gauge of a key left with no reading.
 */
export async function recomputeSubscriberGauges(db: Kysely<Database>, keys: readonly GaugeKey[]): Promise<GaugeValue[]> {
  if (keys.length === 0) return [];
  const k = [...keys].sort((a, b) => cmp(a.source, b.source) || cmp(a.service, b.service) || cmp(a.area, b.area));
  const set = await sql<GaugeValue>`
    INSERT INTO subscriber_gauges AS g (source, service, area, count, ts, revision, event_id)
    SELECT k.source, k.service, k.area, (e.data->>'count')::bigint, e.ts, e.revision, e.id
    FROM unnest(${textArray(k.map((x) => x.source))}::text[], ${textArray(k.map((x) => x.service))}::text[], ${textArray(k.map((x) => x.area))}::text[]) AS k(source, service, area)
    CROSS JOIN LATERAL (
      SELECT * FROM events e
      WHERE e.feed = 'subscribers' AND e.source = k.source AND e.data->>'service' = k.service AND e.area = k.area
      ORDER BY e.ts DESC, e.revision DESC, e.id COLLATE "C" DESC LIMIT 1
    ) e
    ON CONFLICT (source, service, area) DO UPDATE SET
      count = excluded.count, ts = excluded.ts, revision = excluded.revision, event_id = excluded.event_id, updated_at = now()
    WHERE (g.count, g.ts, g.revision, g.event_id) IS DISTINCT FROM (excluded.count, excluded.ts, excluded.revision, excluded.event_id)
    RETURNING g.source, g.service, g.area, g.count`.execute(db);
  const gone = await sql<GaugeValue>`
    DELETE FROM subscriber_gauges g
    USING unnest(${textArray(k.map((x) => x.source))}::text[], ${textArray(k.map((x) => x.service))}::text[], ${textArray(k.map((x) => x.area))}::text[]) AS k(source, service, area)
    WHERE g.source = k.source AND g.service = k.service AND g.area = k.area
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.feed = 'subscribers' AND e.source = k.source AND e.data->>'service' = k.service AND e.area = k.area)
    RETURNING g.source, g.service, g.area, NULL::bigint AS count`.execute(db);
  return [...set.rows, ...gone.rows];
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
