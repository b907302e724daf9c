import { sql, type Db } from "@pulse/db";

/**
 * The (area, source) pairs with a subscriber or station reading dated on or after `from` (the
 * start of today, UTC+7): which carriers have reported for each area today. By the readings'
 * own time (`ts`), not by receipt: a reading about yesterday sent this morning is not today's.
 * Read from Postgres because the change log carries a gauge only when its value changes.
 */
export async function readReported(db: Db["db"], from: Date): Promise<{ area: string; source: string }[]> {
  const r = await sql<{ area: string; source: string }>`
    SELECT area, source FROM subscriber_gauges WHERE ts >= ${from}
    UNION
    SELECT area, source FROM bts_stations WHERE ts >= ${from} AND status <> 'removed'
    ORDER BY 1, 2`.execute(db);
  return r.rows;
}
