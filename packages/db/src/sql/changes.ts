import { sql, type Kysely } from "kysely";
import type { QueryResult } from "pg";
import { onClient, type Db } from "../create-db";
import type { Database } from "../database";

/** Advisory lock keys (first int of the pair) Pulse takes inside transactions. */
export const lockSpace = 0x50554c; // "PUL"
/** Second key of the change-log lock; feed locks use their index in the feeds list (0–3). */
export const changeLogLock = 1_000;

export interface ChangeInput {
  metric: string;
  entries: unknown[];
}

/**
 * Largest change-log row, in bytes of its entries' JSON. The relay sends each row to LIVE as one
 * NATS message, and a message past the server's max_payload (1 MiB by default) is refused every
 * time, holding up every row after it: a batch of 2,000 restatements with long agency names
 * would write a 1.4 MB row. Entries are absolute values of distinct keys, so a metric's entries
 * may be spread over several rows of one transaction.
 */
export const maxChangeBytes = 256 * 1024;

/** One row per metric, or several when its entries' JSON is larger than `maxBytes`; each row's JSON text comes along. */
export function splitChanges(rows: readonly ChangeInput[], maxBytes = maxChangeBytes): { metric: string; json: string }[] {
  const out: { metric: string; json: string }[] = [];
  for (const row of rows) {
    if (row.entries.length === 0) continue;
    const json = JSON.stringify(row.entries);
    // Cheap test first: UTF-8 takes at most three bytes per UTF-16 code unit.
    if (json.length * 3 <= maxBytes || Buffer.byteLength(json) <= maxBytes) {
      out.push({ metric: row.metric, json });
      continue;
    }
    let part: string[] = [];
    let size = 2;
    for (const entry of row.entries) {
      const e = JSON.stringify(entry);
      const b = Buffer.byteLength(e) + 1;
      if (part.length > 0 && size + b > maxBytes) {
        out.push({ metric: row.metric, json: `[${part.join(",")}]` });
        part = [];
        size = 2;
      }
      part.push(e);
      size += b;
    }
    if (part.length > 0) out.push({ metric: row.metric, json: `[${part.join(",")}]` });
  }
  return out;
}

/**
 * A string literal: quotes doubled, and the E'' form with backslashes doubled when there are any,
 * so that it reads the same whatever standard_conforming_strings says. (pg's escapeLiteral does
 * the same a character at a time; this runs on every batch's change log, some 100 KB.)
 */
function literal(s: string): string {
  // A NUL cannot travel in a query's text (the server would drop the session); JSON.stringify
  // escapes it in entries, so only a bug could bring one here.
  if (s.includes("\0")) throw new Error("a change-log literal holds a NUL character");
  const q = s.replaceAll("'", "''");
  return s.includes("\\") ? `E'${q.replaceAll("\\", "\\\\")}'` : `'${q}'`;
}

/**
 * The statement that appends change-log rows, with its rows written in as literals (no
 * parameters, so that it can share a round trip with COMMIT). It takes the change-log lock
 * first and the lock holds to commit, so change ids are handed out in commit order: the relay,
 * reading `id > cursor`, can never pass over a row that commits later with a smaller id. The
 * lock is a one-row CTE joined to the rows, so it is taken before any row is made; each row's
 * time is `clock_timestamp()`, read after it, so times follow ids (the transaction's `now()`
 * would not). Returns the ids, in input order.
 */
function changeLogInsert(rows: readonly { metric: string; json: string }[]): string {
  const values = rows.map((x, n) => `(${n}, ${literal(x.metric)}, ${literal(x.json)})`).join(",\n");
  return `WITH lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${lockSpace}, ${changeLogLock}))
    INSERT INTO changes (metric, entries, created_at)
    SELECT v.metric, v.entries::json, clock_timestamp() FROM lock, (VALUES ${values}) AS v(n, metric, entries)
    ORDER BY v.n
    RETURNING id`;
}

/** Appends change-log rows (see `changeLogInsert`, `splitChanges`); returns the ids written, in input order. */
export async function insertChanges(db: Kysely<Database>, rows: readonly ChangeInput[]): Promise<number[]> {
  const split = splitChanges(rows);
  if (split.length === 0) return [];
  const r = await sql.raw<{ id: number }>(changeLogInsert(split)).execute(db);
  return r.rows.map((x) => Number(x.id));
}

/**
 * Runs `fn` in one transaction on one connection, for one feed's batch, with the fewest round
 * trips: BEGIN and the feed's lock go in one, the change-log rows `fn` returns (as `log`) and
 * COMMIT in another. The feed lock serializes writers of one feed across all ingest processes, so
 * every read-then-write inside a batch (gauge order, station counts) sees the latest committed
 * state; different feeds still run side by side. The change-log lock is shared by every feed and
 * held to commit: sent with COMMIT, it is held for the server's own work only, never across a
 * round trip to this process. Returns what `fn` returned, with how many change-log rows were
 * written.
 */
export async function inFeedTransaction<R extends { log: readonly ChangeInput[] }>(
  db: Db,
  feedIndex: number,
  fn: (trx: Kysely<Database>) => Promise<R>,
): Promise<R & { changes: number }> {
  const client = await db.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${lockSpace}, ${Math.trunc(feedIndex)})`);
    const done = await fn(onClient(client));
    const rows = splitChanges(done.log);
    const r: QueryResult | QueryResult[] = await client.query(rows.length > 0 ? `${changeLogInsert(rows)};\nCOMMIT` : "COMMIT");
    // COMMIT of a transaction a failed statement aborted answers ROLLBACK: nothing was committed.
    const answer = Array.isArray(r) ? r.at(-1)?.command : r.command;
    if (answer !== "COMMIT") throw new Error(`transaction aborted: COMMIT answered ${answer}`);
    return { ...done, changes: rows.length };
  } catch (err) {
    try {
      await client.query("ROLLBACK");
    } catch (rollbackError) {
      // The connection may still be inside the transaction (a statement outlived query_timeout
      // and the ROLLBACK queued behind it never went out): it must never serve anyone again, or
      // the next batch's COMMIT would commit this one's half.
      broken = rollbackError as Error;
    }
    throw err;
  } finally {
    client.release(broken);
    // Destroying the client only cuts its socket: a backend still waiting on a lock would not
    // notice, and would keep the feed's lock (and its transaction) until that lock came free,
    // holding up this feed's next batches. End it from the server side (pg's Client keeps the
    // backend's pid, from the session's BackendKeyData, as `processID`; its types omit it).
    if (broken)
      await db.pool.query("SELECT pg_terminate_backend($1)", [(client as unknown as { processID: number }).processID]).catch(() => {});
  }
}

export interface ChangeRow {
  id: number;
  metric: string;
  /** The entries as JSON text: relayed as they are, never parsed and written again. */
  entries: string;
  created_at: Date;
}

/** What a relay pass reads: where to start, the rows after it, and the newest id committed. */
export interface ChangesToRelay {
  /** The larger of the caller's cursor and the shared one (another relay may be ahead). */
  after: number;
  /** Change rows after `after`, in id order, at most `limit`. */
  rows: ChangeRow[];
  /** Highest change id committed (0 when none): the lag is `last` less what gets published. */
  last: number;
}

/** One read per relay pass: the shared cursor, the rows after it and the newest id, together. */
export async function changesToRelay(db: Kysely<Database>, cursorName: string, afterId: number, limit: number): Promise<ChangesToRelay> {
  const r = await sql<{ after: number; last: number; id: number | null; metric: string; entries: string; created_at: Date }>`
    SELECT b.after, b.last, c.id, c.metric, c.entries::text AS entries, c.created_at
    FROM (SELECT GREATEST(${afterId}::bigint, COALESCE((SELECT last_id FROM relay_cursor WHERE name = ${cursorName}), 0)) AS after,
                 COALESCE((SELECT max(id) FROM changes), 0) AS last) b
    LEFT JOIN LATERAL (SELECT id, metric, entries, created_at FROM changes WHERE id > b.after ORDER BY id LIMIT ${limit}) c ON true
    ORDER BY c.id`.execute(db);
  const head = r.rows[0]!;
  return {
    after: head.after,
    last: head.last,
    rows: r.rows.filter((x) => x.id !== null).map((x) => ({ id: x.id!, metric: x.metric, entries: x.entries, created_at: x.created_at })),
  };
}

export async function readRelayCursor(db: Kysely<Database>, name: string): Promise<number> {
  const r = await sql<{ last_id: number }>`
    INSERT INTO relay_cursor (name, last_id) VALUES (${name}, 0)
    ON CONFLICT (name) DO UPDATE SET last_id = relay_cursor.last_id
    RETURNING last_id`.execute(db);
  return r.rows[0]!.last_id;
}

/** Moves the cursor forward only (several relays may race; the furthest wins). */
export async function advanceRelayCursor(db: Kysely<Database>, name: string, lastId: number): Promise<void> {
  await sql`UPDATE relay_cursor SET last_id = GREATEST(last_id, ${lastId}) WHERE name = ${name}`.execute(db);
}

/** Deletes relayed change rows older than `olderThanMs`; returns how many. */
export async function pruneChanges(db: Kysely<Database>, relayedUpTo: number, olderThanMs: number): Promise<number> {
  const r =
    await sql`DELETE FROM changes WHERE id <= ${relayedUpTo} AND created_at < now() - make_interval(secs => ${olderThanMs / 1000})`.execute(
      db,
    );
  return Number(r.numAffectedRows ?? 0);
}

/** Deletes raw events received before the retention horizon, in chunks; returns how many. */
export async function pruneEvents(db: Kysely<Database>, retentionMs: number, chunk = 10_000): Promise<number> {
  const r = await sql`
    DELETE FROM events WHERE ctid IN (
      SELECT ctid FROM events WHERE received_at < now() - make_interval(secs => ${retentionMs / 1000}) LIMIT ${chunk})`.execute(db);
  return Number(r.numAffectedRows ?? 0);
}
