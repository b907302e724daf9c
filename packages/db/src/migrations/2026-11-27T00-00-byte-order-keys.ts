import { sql, type Kysely } from "kysely";

// Keys are codes and producer ids, not words: compare them byte by byte (COLLATE "C") rather
// than through the database's locale, which every index probe and sort of a batch paid for
// (strcoll, locale lookups). And the receipt-time index, read only by the retention prune, as a
// BRIN: rows arrive in receipt order, so a few summary pages do what a B-tree entry per event did.
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
  await sql`DROP INDEX events_received_at`.execute(db);
  await sql`CREATE INDEX events_received_at ON events USING brin (received_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX events_received_at`.execute(db);
  await sql`CREATE INDEX events_received_at ON events (received_at)`.execute(db);
  for (const [table, columns] of Object.entries(keys)) {
    const changes = columns.map((c) => `ALTER COLUMN ${c} TYPE text COLLATE "default"`).join(", ");
    await sql.raw(`ALTER TABLE ${table} ${changes}`).execute(db);
  }
}
