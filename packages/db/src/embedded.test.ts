import { spawn } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  realpathSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAlive } from "@pulse/config";
import { afterAll, describe, expect, it } from "vitest";
import { createDb } from "./create-db";
import { EmbeddedPostgresLockedError, startEmbeddedPostgres, type EmbeddedPostgres } from "./embedded";
import { migrateOrThrow } from "./migrate";

// mkdtemp makes it 0700: open it, as a checkout's folder is, so the cluster stays in place here
// (the 0700 case has its own test).
const dir = mkdtempSync(join(tmpdir(), "pulse-embedded-"));
chmodSync(dir, 0o755);
const fallbackRoot = join(dir, "fallback");
const dataDir = join(dir, "pg");
const open: EmbeddedPostgres[] = [];
const lines: string[] = [];
const log = (l: string) => lines.push(l);
afterAll(async () => {
  for (const pg of open) await pg.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every process whose command line contains `needle` (the watchdog of a given start). */
const pidsWith = (needle: string) =>
  readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, "utf8").includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);

describe("startEmbeddedPostgres", () => {
  it("is a real PostgreSQL 15 with many sessions, and keeps its data across a reopen", async () => {
    const pg = await startEmbeddedPostgres({ dataDir, log });
    open.push(pg);
    expect(pg.url).toMatch(/^postgres:\/\/postgres:[\w-]+@127\.0\.0\.1:\d+\/postgres$/);
    expect(readFileSync(`${dataDir}.password`, "utf8").trim()).toBe(decodeURIComponent(new URL(pg.url).password));

    const db = createDb({ url: pg.url, poolMax: 8 });
    try {
      await migrateOrThrow(db.db);
      const version = await db.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v");
      expect(version.rows[0]!.v).toMatch(/^15\./);
      // Eight sessions at once, each in its own transaction: what PGlite (one session) could not do.
      const pids = await Promise.all(
        Array.from({ length: 8 }, async () => {
          const c = await db.pool.connect();
          try {
            await c.query("BEGIN");
            const r = await c.query<{ pid: number }>("SELECT pg_backend_pid() AS pid, pg_sleep(0.2)");
            await c.query("COMMIT");
            return r.rows[0]!.pid;
          } finally {
            c.release();
          }
        }),
      );
      expect(new Set(pids).size).toBe(8);
      await db.pool.query("CREATE TABLE embedded_probe (k text PRIMARY KEY, n int NOT NULL)");
      await db.pool.query("INSERT INTO embedded_probe VALUES ('a', 11), ('b', 2)");
      // 2026-11-26T20:00Z is already the 27th in Hanoi (UTC+7).
      const day = await db.pool.query<{ d: Date }>(
        "SELECT date_trunc('day', '2026-11-26T20:00:00Z'::timestamptz, 'Asia/Ho_Chi_Minh') AS d",
      );
      expect(day.rows[0]!.d.toISOString()).toBe("2026-11-26T17:00:00.000Z");
    } finally {
      await db.close();
    }

    const second = startEmbeddedPostgres({ dataDir, log });
    await expect(second).rejects.toBeInstanceOf(EmbeddedPostgresLockedError);
    await expect(second).rejects.toThrow(new RegExp(`${dataDir} is in use by pid ${process.pid}`));

    await pg.close();
    expect(isAlive(pg.pid)).toBe(false);
    open.pop();
    const again = await startEmbeddedPostgres({ dataDir, log });
    open.push(again);
    const db2 = createDb({ url: again.url, poolMax: 2 });
    try {
      await migrateOrThrow(db2.db); // already at the latest version: a no-op
      const kept = await db2.pool.query<{ n: number }>("SELECT sum(n)::int AS n FROM embedded_probe");
      expect(kept.rows[0]!.n).toBe(13);
    } finally {
      await db2.close();
    }
    await again.close();
    open.pop();
  });

  it("takes over a lock left by a dead process", async () => {
    // No live process has pid 2^22+1 (above the largest possible pid_max, 2^22).
    writeFileSync(`${dataDir}.lock`, "4194305\n");
    const pg = await startEmbeddedPostgres({ dataDir, log });
    await pg.close();
  });

  it("stops its server when its owner is SIGKILLed (the watchdog), and stops an orphan whose watchdog died too", async () => {
    const owner = () => {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "-e",
          `import { startEmbeddedPostgres } from "./packages/db/src/embedded.ts";
           const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)} });
           console.log("pid " + pg.pid); setInterval(() => {}, 1000);`,
        ],
        { cwd: join(import.meta.dirname, "../../.."), stdio: ["ignore", "pipe", "inherit"] },
      );
      return new Promise<{ child: typeof child; pgPid: number }>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (d) => {
          out += d;
          const m = /pid (\d+)/.exec(out);
          if (m) resolve({ child, pgPid: Number(m[1]) });
        });
        child.once("exit", (c) => reject(new Error(`owner exited ${c}: ${out}`)));
      });
    };
    const waitGone = async (pid: number, ms: number) => {
      for (const end = Date.now() + ms; Date.now() < end;) {
        if (!isAlive(pid)) return true;
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };

    const a = await owner();
    a.child.kill("SIGKILL");
    expect(await waitGone(a.pgPid, 10_000)).toBe(true);

    const b = await owner();
    for (const w of pidsWith(`kill -0 ${b.child.pid} `)) process.kill(w, "SIGKILL");
    b.child.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 1_500));
    expect(isAlive(b.pgPid)).toBe(true); // the orphan holds the directory
    lines.length = 0;
    const pg = await startEmbeddedPostgres({ dataDir, log });
    expect(lines.join("\n")).toContain(`stopping pid ${b.pgPid}, a server left running`);
    expect(isAlive(b.pgPid)).toBe(false);
    await pg.close();
  }, 60_000);

  it("moves a PGlite data directory aside with one line, and starts a new cluster", async () => {
    const d = join(dir, "old", "pg");
    mkdirSync(join(d, "pgdata"), { recursive: true });
    writeFileSync(join(d, "pgdata", "PG_VERSION"), "17\n");
    writeFileSync(join(d, "pulse.lock"), "4194305\n");
    lines.length = 0;
    const pg = await startEmbeddedPostgres({ dataDir: d, log });
    open.push(pg);
    expect(lines, lines.join("\n")).toHaveLength(1);
    expect(pg.clusterDir).toBe(d);
    const aside = /moved aside to (\S+),/.exec(lines[0]!)?.[1];
    expect(aside).toMatch(/\/old\/pg-pglite-\d{8}-\d{6}$/);
    expect(existsSync(join(aside!, "pgdata", "PG_VERSION"))).toBe(true);
    expect(readFileSync(join(d, "PG_VERSION"), "utf8").trim()).toBe("15");
    await pg.close();
    open.pop();
  });

  it("as root, under a directory the postgres user cannot enter (0700), puts the cluster where it can and links it", async () => {
    if (process.getuid?.() !== 0) return;
    const closed = join(dir, "home");
    mkdirSync(closed, { mode: 0o700 });
    const d = join(closed, "checkout", ".data", "pg");
    lines.length = 0;
    const pg = await startEmbeddedPostgres({ dataDir: d, log, fallbackRoot });
    open.push(pg);
    expect(lines.join("\n")).toMatch(
      new RegExp(`the postgres user cannot enter ${closed}/checkout/.data; the cluster lives in ${fallbackRoot}/pg-\\w+, linked from ${d}`),
    );
    expect(lstatSync(d).isSymbolicLink()).toBe(true);
    expect(realpathSync(d)).toBe(pg.clusterDir);
    const db = createDb({ url: pg.url, poolMax: 2 });
    await db.pool.query("CREATE TABLE kept (n int)");
    await db.pool.query("INSERT INTO kept VALUES (7)");
    await db.close();
    await pg.close();
    open.pop();
    lines.length = 0;
    const again = await startEmbeddedPostgres({ dataDir: d, log, fallbackRoot });
    open.push(again);
    expect(lines).toEqual([]);
    const db2 = createDb({ url: again.url, poolMax: 1 });
    expect((await db2.pool.query<{ n: number }>("SELECT n FROM kept")).rows).toEqual([{ n: 7 }]);
    await db2.close();
  });
});
