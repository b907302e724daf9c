import { sql, type Kysely } from "kysely";
import type { Database } from "../database";

/** Advisory lock keys (first int of the pair) Pulse takes inside transactions. */
export const lockSpace = 0x50554c; // "PUL"
/** Second key of the change-log lock; feed locks use their index in the feeds list. */
export const changeLogLock = 1_000;

/**
 * Serializes writers of one feed: batches of a feed apply one at a time across all ingest
 * processes, so every read-then-write inside a batch (gauge order, station counts) sees the
 * latest committed state. Different feeds still run side by side.
 */
export async function lockFeed(db: Kysely<Database>, feedIndex: number): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${lockSpace}::int, ${feedIndex}::int)`.execute(db);
}

export interface ChangeInput {
  metric: string;
  entries: unknown[];
}

/**
 * Appends change-log rows. Takes the change-log lock first and holds it to commit, so change ids
 * are handed out in commit order: the relay, reading `id > cursor`, can never pass over a row
 * that commits later with a smaller id. Their time is `clock_timestamp()`, read under that lock,
 * so times follow ids (the transaction's `now()` would not). Returns the ids, in input order.
 */
export async function insertChanges(db: Kysely<Database>, rows: readonly ChangeInput[]): Promise<number[]> {
  if (rows.length === 0) return [];
  await sql`SELECT pg_advisory_xact_lock(${lockSpace}::int, ${changeLogLock}::int)`.execute(db);
  const r = await sql<{ id: number }>`
    INSERT INTO changes (metric, entries, created_at)
    SELECT metric, entries, clock_timestamp() FROM unnest(${rows.map((x) => x.metric)}::text[], ${rows.map((x) => JSON.stringify(x.entries))}::json[]) WITH ORDINALITY AS c(metric, entries, n)
    ORDER BY n
    RETURNING id`.execute(db);
  return r.rows.map((x) => x.id);
}

export interface ChangeRow {
  id: number;
  metric: string;
  /** The entries as JSON text: relayed as they are, never parsed and written again. */
  entries: string;
  created_at: Date;
}

/** Change rows after `afterId`, in order. */
export async function changesAfter(db: Kysely<Database>, afterId: number, limit: number): Promise<ChangeRow[]> {
  const r = await sql<ChangeRow>`SELECT id, metric, entries::text AS entries, created_at FROM changes WHERE id > ${afterId} ORDER BY id LIMIT ${limit}`.execute(db);
  return r.rows;
}

export async function readRelayCursor(db: Kysely<Database>, name: string): Promise<number> {
  const r = await sql<{ last_id: number }>`
    INSERT INTO relay_cursor (name, last_id) VALUES (${name}, 0)
    ON CONFLICT (name) DO UPDATE SET last_id = relay_cursor.last_id
    RETURNING last_id`.execute(db);
  return r.rows[0]!.last_id;
}

/** Where the shared cursor stands (0 before any relay ran), without writing. */
export async function sharedRelayCursor(db: Kysely<Database>, name: string): Promise<number> {
  const r = await sql<{ last_id: number }>`SELECT last_id FROM relay_cursor WHERE name = ${name}`.execute(db);
  return Number(r.rows[0]?.last_id ?? 0);
}

/** Moves the cursor forward only (several relays may race; the furthest wins). */
export async function advanceRelayCursor(db: Kysely<Database>, name: string, lastId: number): Promise<void> {
  await sql`UPDATE relay_cursor SET last_id = GREATEST(last_id, ${lastId}) WHERE name = ${name}`.execute(db);
}

/** Highest change id committed (0 when none). */
export async function lastChangeId(db: Kysely<Database>): Promise<number> {
  const r = await sql<{ id: number | null }>`SELECT max(id) AS id FROM changes`.execute(db);
  return r.rows[0]?.id ?? 0;
}

/** Deletes relayed change rows older than `olderThanMs`; returns how many. */
export async function pruneChanges(db: Kysely<Database>, relayedUpTo: number, olderThanMs: number): Promise<number> {
  const r = await sql`DELETE FROM changes WHERE id <= ${relayedUpTo} AND created_at < now() - make_interval(secs => ${olderThanMs / 1000})`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}

/** Deletes raw events received before the retention horizon, in chunks; returns how many. */
export async function pruneEvents(db: Kysely<Database>, retentionMs: number, chunk = 10_000): Promise<number> {
  const r = await sql`
    DELETE FROM events WHERE ctid IN (
      SELECT ctid FROM events WHERE received_at < now() - make_interval(secs => ${retentionMs / 1000}) LIMIT ${chunk})`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
