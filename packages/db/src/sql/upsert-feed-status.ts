import { sql, type Kysely } from "kysely";
import type { Database } from "../database";

export interface FeedReceipt {
  source: string;
  feed: string;
  /** Latest broker receipt time among the batch's messages from (source, feed). */
  receivedAt: Date;
  /** Latest event time among them. */
  eventTs: string | Date | null;
  /** Records that changed a figure (new or restated). */
  events: number;
}

export interface FeedStatusValue {
  source: string;
  feed: string;
  last_received_at: Date;
  last_event_ts: Date | null;
  events: number;
}

/** Records receipt per (source, feed). Times only move forward, so a replay changes nothing. */
export async function upsertFeedStatus(db: Kysely<Database>, rows: readonly FeedReceipt[]): Promise<FeedStatusValue[]> {
  if (rows.length === 0) return [];
  const r = await sql<FeedStatusValue>`
    INSERT INTO feed_status AS f (source, feed, last_received_at, last_event_ts, events)
    SELECT * FROM unnest(${rows.map((x) => x.source)}::text[], ${rows.map((x) => x.feed)}::text[],
      ${rows.map((x) => x.receivedAt)}::timestamptz[], ${rows.map((x) => x.eventTs)}::timestamptz[], ${rows.map((x) => x.events)}::bigint[])
    ORDER BY 1, 2
    ON CONFLICT (source, feed) DO UPDATE SET
      last_received_at = GREATEST(f.last_received_at, excluded.last_received_at),
      last_event_ts = GREATEST(f.last_event_ts, excluded.last_event_ts),
      events = f.events + excluded.events
    WHERE excluded.last_received_at > f.last_received_at OR excluded.last_event_ts > f.last_event_ts OR excluded.events > 0
    RETURNING f.source, f.feed, f.last_received_at, f.last_event_ts, f.events`.execute(db);
  return r.rows;
}
