import { sql, type Kysely } from "kysely";
import type { Database } from "../database";

export interface SourceStatusRows {
  feeds: { feed: string; last_received_at: Date; events: number }[];
  deadLetters: { reason: string; count: number }[];
}

/**
 * What one producer may see of itself (the HTTPS door's `GET /v1/status`): its feeds' last
 * receipt at ingest, and its dead letters stored since `since`, by reason.
 */
export async function readSourceStatus(db: Kysely<Database>, source: string, since: Date): Promise<SourceStatusRows> {
  const feeds = await db
    .selectFrom("feed_status")
    .select(["feed", "last_received_at", "events"])
    .where("source", "=", source)
    .orderBy("feed")
    .execute();
  const letters = await sql<{ reason: string; count: number }>`
    SELECT reason, count(*)::int AS count FROM dead_letters
    WHERE source = ${source} AND created_at >= ${since}
    GROUP BY reason ORDER BY reason`.execute(db);
  return {
    feeds: feeds.map((f) => ({ feed: f.feed, last_received_at: f.last_received_at, events: Number(f.events) })),
    deadLetters: letters.rows,
  };
}
