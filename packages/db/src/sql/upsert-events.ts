import { sql, type Kysely } from "kysely";
import { executePrepared } from "../create-db";
import type { Database } from "../database";
import { numberArray, textArray } from "./array-literal";

export interface EventInput {
  source: string;
  id: string;
  revision: number;
  ts: string;
  area: string;
  /** The feed's data (validated). */
  data: unknown;
  /** Broker receipt time, epoch ms: a number, as a Date would send JSON.stringify down its slow path. */
  receivedMs: number;
  streamSeq: number;
}

/** What the upsert did to a row it really changed: a new record, or a higher revision of a known one. */
export interface EventChange {
  inserted: boolean;
  /** The replaced version; its `ts` as Postgres writes it (microseconds, an offset), to be read back exactly. */
  prev: { revision: number; ts: string; area: string; data: Record<string, unknown> } | null;
}

/**
 * Inserts new records of one feed and replaces known ones by a higher revision, in one
 * statement. Rows must be one per (source, id) and sorted by it (lock order), each from its own
 * message (distinct `streamSeq`). Answers per row, in input order: what changed, or undefined for
 * a duplicate (same or lower revision) or an id the source already used in another feed. The
 * replaced version comes back as `prev`, read from the locked row itself, so a concurrent writer
 * can never make us miss it.
 *
 * The rows travel as one array per column, zipped by `unnest` (set-returning functions in one
 * select list advance together), and the data objects as one JSON array whose elements become
 * the `data` column as they are: Postgres neither builds a hash of field names per row (as
 * `json_to_recordset` does) nor parses each `data` again to check it, about a fifth of the
 * statement. What changed comes back as one row of two JSON arrays, naming rows by their stream
 * sequence (a number, cheaper both to write and to look up than (source, id) strings): the new
 * records' sequences, and the replaced ones with their previous version.
 */
export async function upsertEvents(db: Kysely<Database>, feed: string, rows: readonly EventInput[]): Promise<(EventChange | undefined)[]> {
  const n = rows.length;
  const out = new Array<EventChange | undefined>(n);
  if (n === 0) return out;
  const sources = new Array<string>(n),
    ids = new Array<string>(n),
    tss = new Array<string>(n),
    areas = new Array<string>(n);
  const revisions = new Array<number>(n),
    received = new Array<number>(n),
    seqs = new Array<number>(n),
    data = new Array<unknown>(n);
  const rowOf = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const x = rows[i]!;
    sources[i] = x.source;
    ids[i] = x.id;
    revisions[i] = x.revision;
    tss[i] = x.ts;
    areas[i] = x.area;
    data[i] = x.data;
    received[i] = x.receivedMs;
    seqs[i] = x.streamSeq;
    rowOf.set(x.streamSeq, i);
  }
  if (rowOf.size !== n) throw new Error("upsertEvents: two rows share a stream sequence");
  const r = await executePrepared(
    db,
    sql<{
      inserted: number[] | null;
      restated: { seq: number; prev_revision: number; prev_ts: string; prev_area: string; prev_data: Record<string, unknown> }[] | null;
    }>`
    WITH up AS (
      INSERT INTO events AS e (source, id, feed, revision, ts, area, data, received_at, stream_seq)
      SELECT unnest(${textArray(sources)}::text[]), unnest(${textArray(ids)}::text[]), ${feed}, unnest(${numberArray(revisions)}::int[]),
        unnest(${textArray(tss)}::timestamptz[]), unnest(${textArray(areas)}::text[]), json_array_elements(${JSON.stringify(data)}::json),
        to_timestamp(unnest(${numberArray(received)}::float8[]) / 1000), unnest(${numberArray(seqs)}::bigint[])
      ON CONFLICT (source, id) DO UPDATE SET
        feed = excluded.feed, revision = excluded.revision, ts = excluded.ts, area = excluded.area, data = excluded.data,
        received_at = excluded.received_at, stream_seq = excluded.stream_seq,
        prev_revision = e.revision, prev_ts = e.ts, prev_area = e.area, prev_data = e.data
      WHERE e.revision < excluded.revision AND e.feed = excluded.feed
      RETURNING e.stream_seq, (e.xmax = 0) AS inserted, e.prev_revision, e.prev_ts, e.prev_area, e.prev_data
    )
    SELECT json_agg(stream_seq) FILTER (WHERE inserted) AS inserted,
           json_agg(json_build_object('seq', stream_seq, 'prev_revision', prev_revision, 'prev_ts', prev_ts, 'prev_area', prev_area, 'prev_data', prev_data))
             FILTER (WHERE NOT inserted) AS restated
    FROM up`,
  );
  const row = r.rows[0]!;
  // A sequence we did not send would be a bug in the statement: never file a change under no row.
  const at = (seq: number) => {
    const i = rowOf.get(seq);
    if (i === undefined) throw new Error(`upsertEvents: the database answered for stream sequence ${seq}, which was not sent`);
    return i;
  };
  for (const seq of row.inserted ?? []) out[at(seq)] = { inserted: true, prev: null };
  for (const x of row.restated ?? []) {
    out[at(x.seq)] = { inserted: false, prev: { revision: x.prev_revision, ts: x.prev_ts, area: x.prev_area, data: x.prev_data } };
  }
  return out;
}

/** The stored feed and revision of (source, id) pairs: tells a duplicate from an id reused across feeds. */
export async function storedVersions(
  db: Kysely<Database>,
  keys: readonly { source: string; id: string }[],
): Promise<Map<string, { feed: string; revision: number }>> {
  const out = new Map<string, { feed: string; revision: number }>();
  if (keys.length === 0) return out;
  const r = await sql<{ source: string; id: string; feed: string; revision: number }>`
    SELECT e.source, e.id, e.feed, e.revision FROM events e
    JOIN unnest(${textArray(keys.map((k) => k.source))}::text[], ${textArray(keys.map((k) => k.id))}::text[]) AS k(source, id)
      ON e.source = k.source AND e.id = k.id`.execute(db);
  for (const x of r.rows) out.set(`${x.source}\u0000${x.id}`, { feed: x.feed, revision: x.revision });
  return out;
}
