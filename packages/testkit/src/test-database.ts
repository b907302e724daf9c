import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createDb, migrateOrThrow } from "@pulse/db";

/** A fresh database migrated to the latest schema. */
export interface TestDatabase {
  /** postgres:// URL of the new database. */
  readonly url: string;
  readonly name: string;
  /** Terminates leftover connections and drops the database. Idempotent. */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Admin URL (any database; trust auth). Default env `PULSE_TEST_PG_URL`, else `postgres://postgres@127.0.0.1:5432/postgres`. */
  adminUrl?: string;
}

/** The machine's Postgres (env `PULSE_TEST_PG_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`). */
export function sharedPgUrl(): string {
  return process.env.PULSE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

/** Databases of crashed runs older than this are dropped when a run starts. */
const staleAfterMs = 3 * 60 * 60 * 1000;

/**
 * Creates `pulse_t_<tag>_<time>_<random>` as a copy of a template database migrated once per
 * schema version: a clone takes milliseconds, running the migrations takes far longer.
 */
export async function createTestDatabase(tag: string, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const adminUrl = options.adminUrl ?? sharedPgUrl();
  const template = await ensureTemplate(adminUrl);
  // The creation time is in the name because pg_database does not record it: it is how a later
  // run tells a crashed run's leftovers from a database another worker is using right now.
  const safeTag = tag
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, "_")
    .slice(0, 24);
  const name = `pulse_t_${safeTag}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
  await withAdmin(adminUrl, (admin) => admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)}`));
  let dropped = false;
  return {
    url: databaseUrl(adminUrl, name),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await withAdmin(adminUrl, (admin) => admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`));
    },
  };
}

/** `adminUrl` with its database replaced by `name`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * Name of the template for the current migrations. The hash covers the migration files' names
 * and contents, so editing a migration during development builds a new template instead of
 * cloning a stale one.
 */
export function templateName(): string {
  const dir = fileURLToPath(new URL("../../db/src/migrations/", import.meta.url));
  const h = createHash("sha256");
  for (const f of readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .sort()) {
    h.update(f)
      .update("\0")
      .update(readFileSync(dir + f))
      .update("\0");
  }
  return `pulse_template_${h.digest("hex").slice(0, 12)}`;
}

// One build per admin URL per process; other processes are kept out by the advisory lock.
const templates = new Map<string, Promise<string>>();

function ensureTemplate(adminUrl: string): Promise<string> {
  let p = templates.get(adminUrl);
  if (!p) {
    p = buildTemplate(adminUrl);
    // A failed build is retried by the next caller rather than cached.
    p.catch(() => templates.delete(adminUrl));
    templates.set(adminUrl, p);
  }
  return p;
}

// Any constant shared by every Pulse test run on this machine.
const templateLockKey = 0x70756c7365; // "pulse"

async function buildTemplate(adminUrl: string): Promise<string> {
  const name = templateName();
  // withAdmin holds one connection throughout: pg_advisory_lock belongs to a session.
  await withAdmin(adminUrl, async (conn) => {
    if (await isReadyTemplate(conn, name)) return;
    await conn.query("SELECT pg_advisory_lock($1)", [templateLockKey]);
    try {
      // Another worker may have built it while we waited for the lock.
      if (await isReadyTemplate(conn, name)) return;
      // A database by this name that is not yet a template is a build that crashed midway.
      await conn.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
      await conn.query(`CREATE DATABASE ${ident(name)}`);
      const tmpl = createDb({ url: databaseUrl(adminUrl, name), poolMax: 1, applicationName: "pulse-testkit" });
      try {
        await migrateOrThrow(tmpl.db);
      } finally {
        await tmpl.close();
      }
      // Marked last: "is a template" is what tells the next run the build finished.
      await conn.query(`ALTER DATABASE ${ident(name)} IS_TEMPLATE true`);
      await dropStale(conn);
    } finally {
      await conn.query("SELECT pg_advisory_unlock($1)", [templateLockKey]);
    }
  });
  return name;
}

async function isReadyTemplate(conn: AdminConn, name: string): Promise<boolean> {
  const { rows } = await conn.query("SELECT datistemplate AS ok FROM pg_database WHERE datname = $1", [name]);
  return rows[0]?.ok === true;
}

/** Drops test databases of crashed runs. Best effort: a failure here must not fail a test. */
async function dropStale(conn: AdminConn): Promise<void> {
  try {
    const { rows } = await conn.query("SELECT datname FROM pg_database WHERE datname LIKE $1", ["pulse\\_t\\_%"]);
    for (const { datname } of rows as { datname: string }[]) {
      const stamp = /_([0-9a-z]+)_[0-9a-f]{6}$/.exec(datname)?.[1];
      const createdAt = stamp ? parseInt(stamp, 36) : NaN;
      if (Number.isFinite(createdAt) && Date.now() - createdAt > staleAfterMs) {
        await conn.query(`DROP DATABASE IF EXISTS ${ident(datname)} WITH (FORCE)`);
      }
    }
  } catch {}
}

/** The slice of a pg client the admin work needs; pg itself belongs to @pulse/db. */
interface AdminConn {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- rows of whatever the admin query selects
  query(text: string, values?: unknown[]): Promise<{ rows: any[] }>;
}

/** Runs `fn` on one admin connection, then closes it. DDL here never runs in a transaction. */
async function withAdmin<T>(adminUrl: string, fn: (conn: AdminConn) => Promise<T>): Promise<T> {
  const admin = createDb({ url: adminUrl, poolMax: 1, applicationName: "pulse-testkit" });
  try {
    const client = await admin.pool.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  } finally {
    await admin.close();
  }
}

/** Quotes an identifier; the names are ours, but a tag is caller input. */
function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
