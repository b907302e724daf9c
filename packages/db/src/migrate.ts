import { Migrator, type Kysely, type MigrationResultSet } from "kysely";
import * as initial from "./migrations/2026-11-26T00-00-initial";
import * as byteOrderKeys from "./migrations/2026-11-27T00-00-byte-order-keys";
import * as roomForUpdates from "./migrations/2026-11-27T01-00-room-for-updates";
import * as deadLetterRetries from "./migrations/2026-12-03T00-00-dead-letter-retries";
import * as deadLettersReceivedAt from "./migrations/2026-12-03T00-00-dead-letters-received-at";
import * as retiredRows from "./migrations/2026-12-06T00-00-retired-rows";

// Listed here rather than read from a folder, so the migrations travel with the code whatever
// runs it (tsx, vitest, a bundle).
const migrations = {
  "2026-11-26T00-00-initial": initial,
  "2026-11-27T00-00-byte-order-keys": byteOrderKeys,
  "2026-11-27T01-00-room-for-updates": roomForUpdates,
  "2026-12-03T00-00-dead-letter-retries": deadLetterRetries,
  "2026-12-03T00-00-dead-letters-received-at": deadLettersReceivedAt,
  "2026-12-06T00-00-retired-rows": retiredRows,
};

/** Brings the schema to the latest version. Returns kysely's result set; never throws. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run on a schema of any shape
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  return migrator.migrateToLatest();
}

/** Like `migrateToLatest`, but throws with the failing migration's name: for service start-up. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- migrations run on a schema of any shape
export async function migrateOrThrow(db: Kysely<any>): Promise<void> {
  const { error, results } = await migrateToLatest(db);
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "(before any migration)";
    throw new Error(`database migration ${failed} failed: ${(error as Error).message ?? error}`, { cause: error });
  }
}
