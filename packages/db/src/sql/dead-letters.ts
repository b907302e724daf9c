import { sql, type Kysely } from "kysely";
import type { Database, DeadLetter } from "../database";

/** Which dead letters `listDeadLetters` returns. Every field is optional. */
export interface DeadLetterFilter {
  /** Only these ids. */
  ids?: readonly number[];
  source?: string;
  reason?: string;
  /** Stored at or after this time. */
  since?: Date;
  /** Only those not yet retried (held). Default false: all. */
  heldOnly?: boolean;
  /** Most rows returned, newest first. Default 1,000. */
  limit?: number;
}

/** A dead letter without its payload (for lists). */
export type DeadLetterSummary = Omit<DeadLetter, "payload"> & { payload_bytes: number };

/** Dead letters, newest first, without their payloads. */
export async function listDeadLetters(db: Kysely<Database>, f: DeadLetterFilter = {}): Promise<DeadLetterSummary[]> {
  let q = db
    .selectFrom("dead_letters")
    .selectAll()
    .select(sql<number>`octet_length(payload)`.as("payload_bytes"))
    .orderBy("id", "desc")
    .limit(f.limit ?? 1_000);
  if (f.ids) q = q.where("id", "in", f.ids.length > 0 ? [...f.ids] : [-1]);
  if (f.source) q = q.where("source", "=", f.source);
  if (f.reason) q = q.where("reason", "=", f.reason);
  if (f.since) q = q.where("created_at", ">=", f.since);
  if (f.heldOnly) q = q.where("retried_at", "is", null);
  const rows = await q.execute();
  return rows.map(({ payload: _p, ...r }) => ({ ...r, payload_bytes: Number(r.payload_bytes) }));
}

/** One dead letter with its payload, or null. */
export async function getDeadLetters(db: Kysely<Database>, ids: readonly number[]): Promise<DeadLetter[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom("dead_letters")
    .selectAll()
    .where("id", "in", [...ids])
    .orderBy("id")
    .execute();
}

/** Dead letters held, by reason: what the exporter shows as `pulse_dead_letters_stored`. */
export async function heldDeadLettersByReason(db: Kysely<Database>): Promise<{ reason: string; count: number }[]> {
  const r = await db
    .selectFrom("dead_letters")
    .select("reason")
    .select((eb) => eb.fn.countAll().as("count"))
    .where("retried_at", "is", null)
    .groupBy("reason")
    .orderBy("reason")
    .execute();
  return r.map((x) => ({ reason: x.reason, count: Number(x.count) }));
}

/** Marks a dead letter as sent again (no longer held): the retry's stream sequence, outcome pending. */
export async function markRetrySubmitted(db: Kysely<Database>, id: number, streamSeq: number | null, detail: string): Promise<void> {
  await sql`
    UPDATE dead_letters SET retried_at = now(), retries = retries + 1,
      -- Once landed, it stays landed: a later retry can only be a duplicate of it.
      retry_outcome = CASE WHEN retry_outcome = 'accepted' THEN 'accepted' ELSE 'submitted' END,
      retry_detail = CASE WHEN retry_outcome = 'accepted' THEN retry_detail ELSE ${detail} END,
      retry_stream_seq = CASE WHEN retry_outcome = 'accepted' THEN retry_stream_seq ELSE ${streamSeq} END,
      retry_dead_letter_id = NULL
    WHERE id = ${id}`.execute(db);
}

/**
 * Records how a retry ended. A letter that landed once stays `accepted` (with where it landed):
 * a later retry of it is a duplicate and changes nothing. A refusal also links the dead letter the retry became (found by the
 * retry's stream and sequence) and counts toward the next retry's Msg-Id.
 */
export async function recordRetryOutcome(
  db: Kysely<Database>,
  id: number,
  outcome: "accepted" | "duplicate" | "refused" | "unsettled",
  detail: string,
  retry?: { stream: string; streamSeq: number },
): Promise<{ newDeadLetterId: number | null }> {
  const r = await sql<{ retry_dead_letter_id: number | null }>`
    UPDATE dead_letters d SET
      retry_outcome = CASE WHEN d.retry_outcome = 'accepted' AND ${outcome} = 'duplicate' THEN 'accepted' ELSE ${outcome} END,
      retry_detail = CASE WHEN d.retry_outcome = 'accepted' AND ${outcome} = 'duplicate' THEN d.retry_detail ELSE ${detail} END,
      retry_refusals = d.retry_refusals + ${outcome === "refused" ? 1 : 0},
      retry_dead_letter_id = (SELECT n.id FROM dead_letters n WHERE n.stream = ${retry?.stream ?? null} AND n.stream_seq = ${retry?.streamSeq ?? null} AND n.id <> d.id LIMIT 1)
    WHERE d.id = ${id}
    RETURNING d.retry_dead_letter_id`.execute(db);
  return { newDeadLetterId: r.rows[0]?.retry_dead_letter_id ?? null };
}

/** The dead letters stored for messages of one stream, by stream sequence (the newest of each). */
export async function deadLettersFor(
  db: Kysely<Database>,
  stream: string,
  streamSeqs: readonly number[],
): Promise<Map<number, { id: number; reason: string; detail: string }>> {
  const out = new Map<number, { id: number; reason: string; detail: string }>();
  if (streamSeqs.length === 0) return out;
  const r = await sql<{ id: number; stream_seq: number; reason: string; detail: string }>`
    SELECT DISTINCT ON (stream_seq) id, stream_seq, reason, detail FROM dead_letters
    WHERE stream = ${stream} AND stream_seq = ANY(${`{${streamSeqs.map((n) => Math.trunc(n)).join(",")}}`}::bigint[])
    ORDER BY stream_seq, id DESC`.execute(db);
  for (const x of r.rows) out.set(Number(x.stream_seq), { id: Number(x.id), reason: x.reason, detail: x.detail });
  return out;
}

/** Deletes dead letters stored before `before` (optionally only those retried); returns how many. */
export async function purgeDeadLetters(db: Kysely<Database>, before: Date, options: { retriedOnly?: boolean } = {}): Promise<number> {
  let q = db.deleteFrom("dead_letters").where("created_at", "<", before);
  if (options.retriedOnly) q = q.where("retried_at", "is not", null);
  const r = await q.executeTakeFirst();
  return Number(r.numDeletedRows ?? 0);
}
