import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export interface NatsServerOptions {
  /** Client port. Default: a free port picked by nats-server itself (`-p -1`, no race). */
  port?: number;
  /** Extra command-line arguments, appended after ours. Default none. */
  args?: string[];
  /** JetStream store dir. Default: a fresh temp dir, removed by `stop()`. A dir you pass is kept. */
  storeDir?: string;
  /** nats-server binary. Default `/usr/sbin/nats-server`. */
  bin?: string;
  /** How long to wait for the server to accept connections, in ms. Default 10 000. */
  startTimeoutMs?: number;
}

/** A private nats-server with JetStream, for tests. */
export interface NatsServer {
  /** `nats://127.0.0.1:<port>` — stays the same across `restart()`. */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** True while the process is up. */
  readonly running: boolean;
  /** Kills the process (SIGTERM, SIGKILL after a bound) but keeps port and store: a broker outage. */
  down(): Promise<void>;
  /** Starts it again on the same port with the same store dir. No-op if running. */
  up(): Promise<void>;
  /** `down()` then `up()`: a broker restart; streams and messages survive (file storage). */
  restart(): Promise<void>;
  /** Final stop: kills the process and removes the temp store dir. Idempotent. */
  stop(): Promise<void>;
}

/** The machine's own NATS (env `PULSE_TEST_NATS_URL`, default `nats://127.0.0.1:4222`). Never stop it. */
export function sharedNatsUrl(): string {
  return process.env.PULSE_TEST_NATS_URL ?? "nats://127.0.0.1:4222";
}

// Every child still alive, with the temp dirs to remove if we die, so a crashing test file
// leaves no nats-server behind. 'exit' handlers must be synchronous: SIGKILL and rmSync only.
const live = new Map<ChildProcess, string[]>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const [child, dirs] of live) {
      try {
        child.kill("SIGKILL");
      } catch {}
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * The 'exit' hook does not run when the process is killed by a signal, which is how vitest ends
 * a worker whose file timed out or crashed. So a detached shell polls our pid and, once we are
 * gone, stops the server and removes the temp dirs. It exits by itself when the server stops.
 */
function startWatchdog(childPid: number, dirs: string[]): void {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${childPid} 2>/dev/null; do sleep 0.5; done`,
    `kill -0 ${childPid} 2>/dev/null || exit 0`,
    `kill -TERM ${childPid}; sleep 2; kill -KILL ${childPid} 2>/dev/null`,
    dirs.length ? `rm -rf ${dirs.map(q).join(" ")}` : "true",
  ].join("\n");
  // detached: its own process group, so a Ctrl-C aimed at the test run does not kill it first.
  spawn("/bin/sh", ["-c", script], { detached: true, stdio: "ignore" }).unref();
}

/**
 * Starts a nats-server with JetStream on 127.0.0.1 and waits until it accepts connections
 * (JetStream is enabled, and its store recovered, before the client listener opens).
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  installExitHook();
  const bin = options.bin ?? "/usr/sbin/nats-server";
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const ownDir = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), "pulse-nats-"));
  // The ports file goes beside, not inside, the store, so a caller's store dir stays clean.
  const portsDir = mkdtempSync(join(tmpdir(), "pulse-nats-ports-"));
  let port = options.port ?? -1;
  let child: ChildProcess | undefined;
  let stopped = false;

  async function launch(): Promise<void> {
    const args = ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir, "--ports_file_dir", portsDir];
    const proc = spawn(bin, [...args, ...(options.args ?? [])], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    // Keep only the tail: enough to explain a failed start, and the pipe must be drained anyway.
    proc.stderr!.on("data", (b: Buffer) => {
      stderr = (stderr + b.toString()).slice(-4000);
    });
    let exited: string | undefined;
    proc.once("exit", (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      live.delete(proc);
    });
    proc.once("error", (err) => {
      exited = `could not be spawned: ${err.message}`;
      live.delete(proc);
    });
    const dirs = ownDir ? [storeDir, portsDir] : [portsDir];
    live.set(proc, dirs);
    if (proc.pid !== undefined) startWatchdog(proc.pid, dirs);
    child = proc;

    const deadline = Date.now() + timeoutMs;
    const fail = (why: string) => new Error(`nats-server (${bin} ${args.join(" ")}) ${why}\n${stderr.trim()}`);
    for (;;) {
      if (exited) throw fail(exited);
      if (Date.now() > deadline) {
        await killProc(proc);
        throw fail(`did not accept connections within ${timeoutMs} ms`);
      }
      // Wait for this pid's ports file even when the port is fixed: it is written once the
      // listeners are open, so a stranger on the same port can't pass for our server.
      const p = readPortsFile(portsDir, proc.pid);
      if (p !== undefined && (await canConnect(p))) {
        port = p;
        return;
      }
      await sleep(25);
    }
  }

  async function down(): Promise<void> {
    const proc = child;
    child = undefined;
    if (proc) await killProc(proc);
  }

  async function up(): Promise<void> {
    if (stopped) throw new Error("nats-server was stopped for good; start a new one");
    if (child) return;
    await launch();
  }

  try {
    await launch();
  } catch (err) {
    rmSync(portsDir, { recursive: true, force: true });
    if (ownDir) rmSync(storeDir, { recursive: true, force: true });
    throw err;
  }

  return {
    get url() {
      return `nats://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    storeDir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    down,
    up,
    async restart() {
      await down();
      await up();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await down();
      rmSync(portsDir, { recursive: true, force: true });
      if (ownDir) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`. Resolves once it has exited. */
async function killProc(proc: ChildProcess, graceMs = 3_000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) {
    live.delete(proc);
    return;
  }
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
  live.delete(proc);
}

function readPortsFile(dir: string, pid: number | undefined): number | undefined {
  try {
    // nats-server writes <executable>_<pid>.ports as JSON: { "nats": ["nats://127.0.0.1:PORT"], … }.
    const name = readdirSync(dir).find((f) => f.endsWith(`_${pid}.ports`));
    if (!name) return undefined;
    const info = JSON.parse(readFileSync(join(dir, name), "utf8")) as { nats?: string[] };
    const url = info.nats?.[0];
    return url ? Number(new URL(url).port) : undefined;
  } catch {
    // Not written yet, or half-written: try again on the next poll.
    return undefined;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}
