import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "@pulse/db";
import { createTestDatabase, sharedPgUrl, templateName, type TestDatabase } from "./test-database";

describe("createTestDatabase", () => {
  const made: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of made) await d.drop();
  });

  it("clones a migrated database from the template and drops it", async () => {
    const t = await createTestDatabase("testkit");
    made.push(t);
    expect(t.name).toMatch(/^pulse_t_testkit_[0-9a-z]+_[0-9a-f]{6}$/);

    const db = createDb({ url: t.url });
    const { rows } = await db.pool.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    await db.close();
    const tables = rows.map((r) => r.table_name);
    expect(tables).toEqual(expect.arrayContaining(["events", "changes", "kysely_migration"]));

    await t.drop();
    await t.drop(); // idempotent
    const admin = createDb({ url: sharedPgUrl(), poolMax: 1 });
    const gone = await admin.pool.query("SELECT 1 FROM pg_database WHERE datname = $1", [t.name]);
    const tmpl = await admin.pool.query("SELECT datistemplate FROM pg_database WHERE datname = $1", [templateName()]);
    await admin.close();
    expect(gone.rowCount).toBe(0);
    expect(tmpl.rows[0]?.datistemplate).toBe(true);
  });

  it("gives concurrent callers separate databases", async () => {
    const [a, b] = await Promise.all([createTestDatabase("a"), createTestDatabase("b")]);
    made.push(a!, b!);
    expect(a!.name).not.toBe(b!.name);
  });

  it("drops a database that still has connections", async () => {
    const t = await createTestDatabase("busy");
    made.push(t);
    const db = createDb({ url: t.url });
    await db.pool.query("SELECT 1");
    await t.drop();
    await db.close();
  });
});
