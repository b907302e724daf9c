import { createDb, migrateOrThrow } from "@pulse/db";

/**
 * A fresh migrated database for one test file, until @pulse/testkit's `createTestDatabase`
 * lands (then this goes). Test support only: nothing in the service imports it.
 */
export async function createTestDatabase(tag: string, adminUrl = "postgres://postgres@127.0.0.1:5432/postgres"): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `pulse_${tag.replace(/[^a-z0-9_]/gi, "_").toLowerCase()}_${process.pid}_${Date.now().toString(36)}`;
  const admin = createDb({ url: adminUrl, poolMax: 1 });
  try {
    await admin.pool.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.close();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createDb({ url: url.toString(), poolMax: 1 });
  try {
    await migrateOrThrow(db.db);
  } finally {
    await db.close();
  }
  return {
    url: url.toString(),
    name,
    async drop() {
      const a = createDb({ url: adminUrl, poolMax: 1 });
      try {
        await a.pool.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await a.close();
      }
    },
  };
}
