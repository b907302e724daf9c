/**
 * A private PostgreSQL cluster (initdb into a temp folder, run as the `postgres` user on a free
 * loopback port) that a fault test may stop and start: the machine's own Postgres is never touched.
 */
import { execFile, spawn } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "@pulse/testkit";

const run = promisify(execFile);

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** `pg_ctl stop` with a mode: "fast" (sessions terminated) or "immediate" (a crash: recovery on start). */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  start(): Promise<void>;
  /** Stops for good and removes the folder. */
  destroy(): Promise<void>;
}

function binDir(): string {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, "bin", "initdb"))) return join(base, v, "bin");
  throw new Error("no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)");
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "pulse-pg-"));
  const data = join(dir, "data");
  const root = userInfo().uid === 0;
  // initdb refuses to run as root: run the server as the postgres user, which owns the folder.
  if (root) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: g } = await run("id", ["-g", "postgres"]);
    chownSync(dir, Number(stdout.trim()), Number(g.trim()));
  }
  const as = (cmd: string, args: string[]) => (root ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args));
  await as(join(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=60`;
  const start = async () => {
    await as(join(bin, "pg_ctl"), ["-D", data, "-o", opts, "-l", join(dir, "log"), "-w", "-t", "60", "start"]);
  };
  await start();
  // If this test process dies without destroy(), the server goes with it.
  const watch = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${root ? "runuser -u postgres -- " : ""}${join(bin, "pg_ctl")} -D ${data} -m immediate stop; rm -rf ${dir}`;
  spawn("/bin/sh", ["-c", watch], { detached: true, stdio: "ignore" }).unref();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop(mode = "fast") {
      await as(join(bin, "pg_ctl"), ["-D", data, "-m", mode, "-w", "stop"]);
    },
    start,
    async destroy() {
      await as(join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
