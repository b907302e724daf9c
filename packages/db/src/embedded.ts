import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedPostgresOptions {
  /** Directory that holds the data (`<dataDir>/pgdata`) and the lock file. Created if missing. */
  dataDir: string;
  /** Port to listen on. Default 0: a free port (read it from `url`/`port`). */
  port?: number;
  /** Host to bind. Default 127.0.0.1. */
  host?: string;
}

/**
 * PGlite served over the Postgres wire protocol: the fallback when no real Postgres is at hand.
 * It is ONE session: connect with `createDb({ url, poolMax: 1 })`, keep transactions short, and
 * use no COPY, session SETs or temp tables (they would leak into every later user of the session).
 */
export interface EmbeddedPostgres {
  /** `postgres://postgres@<host>:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Stops listening, closes PGlite (flushing its data) and releases the lock. Idempotent. */
  close(): Promise<void>;
}

/** Thrown when another live process already has the data dir open. */
export class EmbeddedPostgresLockedError extends Error {
  readonly code = "PULSE_EMBEDDED_PG_LOCKED";
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `embedded Postgres data dir ${dataDir} is in use by process ${pid} (lock ${join(dataDir, "pulse.lock")}). ` +
        `Stop that process, or use another data dir; a lock left by a dead process is taken over by itself.`,
    );
    this.name = "EmbeddedPostgresLockedError";
  }
}

/** Starts PGlite on `dataDir` and serves it on 127.0.0.1. Throws `EmbeddedPostgresLockedError` if the dir is taken. */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const host = options.host ?? "127.0.0.1";
  mkdirSync(dataDir, { recursive: true });
  // Two PGlite instances on one directory would both write it and corrupt it; PGlite itself
  // takes no lock, so we do.
  const lockPath = join(dataDir, "pulse.lock");
  takeLock(lockPath, dataDir);

  let pg: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    // A subdirectory, so the lock file never sits inside the Postgres data directory.
    pg = await PGlite.create(join(dataDir, "pgdata"));
    // maxConnections 1 (the default) on purpose: more connections would be multiplexed onto the
    // same session query by query, and their transactions would interleave.
    server = new PGLiteSocketServer({ db: pg, host, port: options.port ?? 0, maxConnections: 1 });
    await server.start();
  } catch (err) {
    await server?.stop().catch(() => {});
    await pg?.close().catch(() => {});
    releaseLock(lockPath);
    throw err;
  }

  // getServerConn() is "host:port" once listening, with the port the OS chose.
  const port = Number(server.getServerConn().split(":").pop());
  let closed = false;
  const srv = server;
  const db = pg;
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    port,
    dataDir,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await srv.stop();
        await db.close();
      } finally {
        releaseLock(lockPath);
      }
    },
  };
}

function takeLock(lockPath: string, dataDir: string): void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // O_EXCL: of two processes starting at once, exactly one creates the file.
      const fd = openSync(lockPath, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = readLockPid(lockPath);
    if (pid !== undefined && isAlive(pid)) throw new EmbeddedPostgresLockedError(dataDir, pid);
    // Dead owner (or an unreadable file from a crash mid-write): take it over.
    try {
      unlinkSync(lockPath);
    } catch {}
  }
  throw new Error(`could not take the lock ${lockPath}: another process keeps taking it`);
}

function readLockPid(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user, so it is alive.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the lock only if it is still ours. */
function releaseLock(lockPath: string): void {
  if (readLockPid(lockPath) === process.pid) {
    try {
      unlinkSync(lockPath);
    } catch {}
  }
}
