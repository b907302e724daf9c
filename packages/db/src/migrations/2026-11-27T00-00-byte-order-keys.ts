import { sql, type Kysely } from "kysely";

// Keys are codes and producer ids, not words: compare them byte by byte (COLLATE "C") rather
// than through the database's locale, which every index probe of a batch paid for (strcoll,
// locale lookups). The table is not rewritten; the indexes on these columns are rebuilt, under
// an exclusive lock: on 90 days of events (some 9 million rows), expect tens of seconds.
// (A BRIN for events.received_at was tried and dropped: once the prune frees old pages, new rows
// fill them, the ranges widen for good, and the hourly prune ends up reading the whole table.)
const keys: Record<string, string[]> = {
  events: ["source", "id"],
  subscriber_gauges: ["source", "service", "area"],
  bts_stations: ["source", "station", "tech", "area", "status"],
  esign_counts: ["grain", "source", "agency", "area", "signer"],
  egov_counts: ["grain", "source", "agency", "level", "channel", "status", "area"],
  feed_status: ["source", "feed"],
};

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [table, columns] of Object.entries(keys)) {
    const changes = columns.map((c) => `ALTER COLUMN ${c} TYPE text COLLATE "C"`).join(", ");
    await sql.raw(`ALTER TABLE ${table} ${changes}`).execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const [table, columns] of Object.entries(keys)) {
    const changes = columns.map((c) => `ALTER COLUMN ${c} TYPE text COLLATE "default"`).join(", ");
    await sql.raw(`ALTER TABLE ${table} ${changes}`).execute(db);
  }
}
