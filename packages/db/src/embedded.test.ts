import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "./create-db";
import { EmbeddedPostgresLockedError, startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded";
import { migrateOrThrow } from "./migrate";

describe("startEmbeddedPostgres", () => {
  const dir = mkdtempSync(join(tmpdir(), "pulse-embedded-"));
  const dataDir = join(dir, "data");
  const open: EmbeddedPostgres[] = [];
  afterAll(async () => {
    for (const pg of open) await pg.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs the migrations and the SQL Pulse relies on, and keeps its data across a reopen", async () => {
    const pg = await startEmbeddedPostgres({ dataDir });
    open.push(pg);
    expect(pg.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);

    const db = createDb({ url: pg.url, poolMax: 1 });
    try {
      await migrateOrThrow(db.db);
      const tables = await db.pool.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(["events", "changes"]));

      await db.pool.query("CREATE TABLE embedded_probe (k text PRIMARY KEY, n int NOT NULL)");
      const upsert = `INSERT INTO embedded_probe (k, n) SELECT * FROM unnest($1::text[], $2::int[])
                      ON CONFLICT (k) DO UPDATE SET n = embedded_probe.n + EXCLUDED.n`;
      await db.pool.query(upsert, [
        ["a", "b"],
        [1, 2],
      ]);
      await db.pool.query(upsert, [["a"], [10]]);
      const probe = await db.pool.query<{ k: string; n: number }>("SELECT k, n FROM embedded_probe ORDER BY k");
      expect(probe.rows).toEqual([
        { k: "a", n: 11 },
        { k: "b", n: 2 },
      ]);

      // 2026-11-26T20:00Z is already the 27th in Hanoi (UTC+7).
      const day = await db.pool.query<{ d: Date }>(
        "SELECT date_trunc('day', '2026-11-26T20:00:00Z'::timestamptz, 'Asia/Ho_Chi_Minh') AS d",
      );
      expect(day.rows[0]!.d.toISOString()).toBe("2026-11-26T17:00:00.000Z");

      await db.pool.query("BEGIN");
      await db.pool.query("SELECT pg_advisory_xact_lock(42)");
      const locks = await db.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = 42",
      );
      await db.pool.query("COMMIT");
      expect(locks.rows[0]!.n).toBe(1);
    } finally {
      await db.close();
    }

    const second = startEmbeddedPostgres({ dataDir });
    await expect(second).rejects.toBeInstanceOf(EmbeddedPostgresLockedError);
    await expect(second).rejects.toThrow(new RegExp(`${dataDir}.*process ${process.pid}`));

    await pg.close();
    open.pop();
    const again = await startEmbeddedPostgres({ dataDir });
    open.push(again);
    const db2 = createDb({ url: again.url, poolMax: 1 });
    try {
      await migrateOrThrow(db2.db); // already at the latest version: a no-op
      const kept = await db2.pool.query<{ n: number }>("SELECT sum(n)::int AS n FROM embedded_probe");
      expect(kept.rows[0]!.n).toBe(13);
    } finally {
      await db2.close();
    }
  });

  it("takes over a lock left by a dead process", async () => {
    // Reuses the first test's data dir: a second initdb would cost seconds.
    for (const pg of open.splice(0)) await pg.close();
    // No live process has pid 2^22+1 (above the largest possible pid_max, 2^22).
    writeFileSync(join(dataDir, "pulse.lock"), "4194305\n");
    const pg = await startEmbeddedPostgres({ dataDir });
    open.push(pg);
    expect(pg.port).toBeGreaterThan(0);
  });
});
