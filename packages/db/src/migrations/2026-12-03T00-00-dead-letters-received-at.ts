import { sql, type Kysely } from "kysely";

// Dead letters are kept for DEAD_LETTERS_RETENTION_DAYS by receipt time, as raw events are: the
// hourly prune finds the expired ones through this index instead of reading the whole table,
// which a flood of bad messages can make large (each row keeps its payload, up to 64 KiB).
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX IF NOT EXISTS dead_letters_received_at ON dead_letters (received_at)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS dead_letters_received_at`.execute(db);
}
