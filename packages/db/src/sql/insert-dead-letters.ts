import { sql, type Kysely } from "kysely";
import type { Database } from "../database";

export interface DeadLetterInput {
  /** The JetStream stream the message is in. */
  stream: string;
  streamSeq: number;
  /** The broker's receipt time of the message. */
  receivedAt: Date;
  subject: string;
  source: string | null;
  feed: string | null;
  eventId: string | null;
  revision: number | null;
  reason: string;
  detail: string;
  payload: Uint8Array;
}

// Postgres text refuses \u0000; detail and ids come from the outside world.
const clean = (s: string | null) => (s === null ? null : s.replace(/[\u0000-\u001f\u007f]/g, "\uFFFD").slice(0, 2000));

// A revision read from a refused payload may be any number: store it only if the column can.
const int32 = (n: number | null) => (n !== null && Number.isInteger(n) && n >= -2_147_483_648 && n <= 2_147_483_647 ? n : null);

/**
 * Stores dead letters. A message already stored (same stream, sequence and receipt time: a
 * redelivery after a lost term) is not stored twice; returns `stream:seq` of those newly stored.
 */
export async function insertDeadLetters(db: Kysely<Database>, rows: readonly DeadLetterInput[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const sorted = [...rows].sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : a.streamSeq - b.streamSeq));
  const r = await sql<{ stream: string; stream_seq: number }>`
    INSERT INTO dead_letters (stream, stream_seq, received_at, subject, source, feed, event_id, revision, reason, detail, payload)
    SELECT * FROM unnest(
      ${sorted.map((x) => x.stream)}::text[], ${sorted.map((x) => x.streamSeq)}::bigint[], ${sorted.map((x) => x.receivedAt)}::timestamptz[], ${sorted.map((x) => clean(x.subject))}::text[],
      ${sorted.map((x) => clean(x.source))}::text[], ${sorted.map((x) => clean(x.feed))}::text[], ${sorted.map((x) => clean(x.eventId))}::text[],
      ${sorted.map((x) => int32(x.revision))}::int[], ${sorted.map((x) => x.reason)}::text[], ${sorted.map((x) => clean(x.detail))}::text[],
      ${sorted.map((x) => Buffer.from(x.payload.buffer, x.payload.byteOffset, x.payload.byteLength))}::bytea[])
    ON CONFLICT (stream, stream_seq, received_at) DO NOTHING
    RETURNING stream, stream_seq`.execute(db);
  return new Set(r.rows.map((x) => `${x.stream}:${x.stream_seq}`));
}
