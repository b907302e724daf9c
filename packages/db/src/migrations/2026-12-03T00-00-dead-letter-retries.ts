import { sql, type Kysely } from "kysely";

// Retry bookkeeping for `pulse dlq retry`: how often a dead letter was sent again, what the last
// attempt came to, and where it went (its stream sequence; the new dead letter when it was
// refused again). `retried_at` (from the first migration) stays the mark that it is no longer
// held: the exporter's `pulse_dead_letters_stored` counts only rows without it.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    ALTER TABLE dead_letters
      ADD COLUMN retries              integer NOT NULL DEFAULT 0,
      -- Retries that came back refused: part of the next retry's Msg-Id, so that a retry after a
      -- fix is not dropped by JetStream as a duplicate of the refused one.
      ADD COLUMN retry_refusals       integer NOT NULL DEFAULT 0,
      ADD COLUMN retry_outcome        text CHECK (retry_outcome IN ('submitted', 'accepted', 'duplicate', 'refused', 'unsettled')),
      ADD COLUMN retry_detail         text,
      ADD COLUMN retry_stream_seq     bigint,
      ADD COLUMN retry_dead_letter_id bigint`.execute(db);
  // `dlq list --since` and `dlq purge --before` read by time.
  await sql`CREATE INDEX dead_letters_created_at ON dead_letters (created_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS dead_letters_created_at`.execute(db);
  await sql`
    ALTER TABLE dead_letters
      DROP COLUMN retries, DROP COLUMN retry_refusals, DROP COLUMN retry_outcome, DROP COLUMN retry_detail,
      DROP COLUMN retry_stream_seq, DROP COLUMN retry_dead_letter_id`.execute(db);
}
