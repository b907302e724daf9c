/**
 * `pnpm db:migrate`: brings DATABASE_URL (or, without it, the embedded Postgres under
 * PULSE_DATA_DIR/pg, default .data/pg) to the latest schema and prints what it applied.
 */
import { createDb } from "./create-db";
import { startEmbeddedPostgres } from "./embedded";
import { migrateToLatest } from "./migrate";

const url = process.env.DATABASE_URL;
const embedded = url ? null : await startEmbeddedPostgres({ dataDir: `${process.env.PULSE_DATA_DIR ?? ".data"}/pg` });
const db = createDb({ url: url ?? embedded!.url, applicationName: "pulse-migrate" });
const { error, results } = await migrateToLatest(db.db);
for (const r of results ?? []) console.log(`${r.status === "Success" ? "applied" : r.status.toLowerCase()}: ${r.migrationName}`);
if (!error && (results ?? []).length === 0) console.log("already at the latest schema");
await db.close();
await embedded?.close();
if (error) {
  console.error(`migration failed: ${(error as Error).message ?? error}`);
  process.exit(1);
}
