import { sql, type Kysely } from "kysely";

// The small tables every batch updates in place: one row per station, per gauge, per feed.
// Packed full (fillfactor 100), a page had no room for a row's new version, so each update went
// to another page with new entries in every index; with half of each page free, Postgres can
// keep the new version beside the old (a HOT update) and leave the indexes alone. A batch of BTS
// readings costs Postgres about a tenth less. (The bucket tables gained too little for the room
// they would take: most of their rows are written once.) CLUSTER rewrites the rows already there
// into pages of the new fill; the tables hold thousands of rows, so the lock is brief.
const tables: [table: string, key: string][] = [
  ["bts_stations", "bts_stations_pkey"],
  ["subscriber_gauges", "subscriber_gauges_pkey"],
  ["feed_status", "feed_status_pkey"],
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [table, key] of tables) {
    await sql.raw(`ALTER TABLE ${table} SET (fillfactor = 50)`).execute(db);
    await sql.raw(`CLUSTER ${table} USING ${key}`).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [table] of tables) await sql.raw(`ALTER TABLE ${table} RESET (fillfactor)`).execute(db);
}
