import { sql, type Kysely } from "kysely";
import type { Database } from "../database";

/**
 * Deletes dead letters received before the retention horizon, at most `chunk` per call (short
 * transactions beside a running ingest); returns how many. By the broker's receipt time, as
 * `pruneEvents` does for raw events, so a flood of bad messages can grow the table by at most
 * one retention's worth.
 */
export async function pruneDeadLetters(db: Kysely<Database>, retentionMs: number, chunk = 10_000): Promise<number> {
  const r = await sql`
    DELETE FROM dead_letters WHERE id IN (
      SELECT id FROM dead_letters WHERE received_at < now() - make_interval(secs => ${retentionMs / 1000}) LIMIT ${chunk})`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
