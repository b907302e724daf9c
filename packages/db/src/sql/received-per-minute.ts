import { sql, type Kysely } from "kysely";
import type { Database } from "../database";
import { textArray } from "./array-literal";

/**
 * The province-wide `received` total of each of `minutes` (ISO instants), read as it stands now:
 * the absolute value the live log carries for `egov_minute` after buckets changed. Oldest first.
 */
export async function receivedPerMinute(trx: Kysely<Database>, minutes: readonly string[]): Promise<{ minute: Date; count: number }[]> {
  if (minutes.length === 0) return [];
  const r = await sql<{ minute: Date; count: number }>`
    SELECT m.minute, COALESCE((SELECT sum(e.count) FROM egov_counts e WHERE e.grain = 'minute' AND e.status = 'received' AND e.bucket = m.minute), 0)::bigint AS count
    FROM unnest(${textArray(minutes)}::timestamptz[]) AS m(minute) ORDER BY 1`.execute(trx);
  return r.rows;
}
