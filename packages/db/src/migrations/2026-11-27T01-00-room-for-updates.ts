import { sql, type Kysely } from "kysely";

// The small tables every batch updates in place: one row per station, per gauge, per feed.
// Packed full (fillfactor 100), a page had no room for a row's new version, so each update went
// to another page with new entries in every index; with half of each page free, Postgres can
// keep the new version beside the old (a HOT update) and leave the indexes alone. A batch of BTS
// readings costs Postgres about a tenth less. (The bucket tables gained too little for the room
// they would take: most of their rows are written once.)
const tables: [table: string, key: string][] = [
  ["bts_stations", "bts_stations_pkey"],
  ["subscriber_gauges", "subscriber_gauges_pkey"],
  ["feed_status", "feed_status_pkey"],
];

/** How long the rewrite may wait for a table another session is using before it gives up. */
const rewriteLockWait = "2s";

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [table, key] of tables) {
    // Does not block writers (SHARE UPDATE EXCLUSIVE); pages filled from now on keep the room.
    await sql.raw(`ALTER TABLE ${table} SET (fillfactor = 50)`).execute(db);
    // CLUSTER rewrites the rows already there into pages of the new fill. It needs the table to
    // itself until the migrations commit, and while it waits for a running ingest's transaction,
    // every later reader queues behind it: so it waits briefly, and is skipped when the table is
    // busy (the rows spread out as they are updated anyway). The tables hold thousands of rows.
    await sql.raw(`SAVEPOINT pulse_rewrite`).execute(db);
    await sql.raw(`SET LOCAL lock_timeout = '${rewriteLockWait}'`).execute(db);
    try {
      await sql.raw(`CLUSTER ${table} USING ${key}`).execute(db);
      await sql.raw(`RELEASE SAVEPOINT pulse_rewrite`).execute(db);
      await sql.raw(`RESET lock_timeout`).execute(db);
    } catch (err) {
      if ((err as { code?: string }).code !== "55P03") throw err; // lock_not_available
      await sql.raw(`ROLLBACK TO SAVEPOINT pulse_rewrite`).execute(db);
      await sql.raw(`RELEASE SAVEPOINT pulse_rewrite`).execute(db);
    }
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [table] of tables) {
    await sql.raw(`ALTER TABLE ${table} RESET (fillfactor)`).execute(db);
    await sql.raw(`ALTER TABLE ${table} SET WITHOUT CLUSTER`).execute(db);
  }
}
