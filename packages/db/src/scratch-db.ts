import { createTestDatabase, type TestDatabase } from "@pulse/testkit";
import { afterAll, beforeAll } from "vitest";
import { createDb, type Db } from "./create-db";

/**
 * A fresh migrated database for one test file, opened before its tests and dropped after them.
 * Test-only: not in mod.ts. Read `.db` inside tests (it is set once `beforeAll` has run).
 */
export function useScratchDb(tag: string, poolMax = 2): { readonly db: Db; readonly url: string } {
  let database: TestDatabase | undefined;
  let db: Db | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(tag);
    db = createDb({ url: database.url, poolMax });
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });
  const opened = () => {
    if (!db || !database) throw new Error("the scratch database is opened in beforeAll");
    return { db, url: database.url };
  };
  return {
    get db() {
      return opened().db;
    },
    get url() {
      return opened().url;
    },
  };
}
