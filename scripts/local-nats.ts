import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { delimiter, join } from "node:path";
import { startWatchdog } from "@pulse/config";

/** True when something accepts TCP connections at the first server of a NATS URL. */
export async function reachable(url: string, timeoutMs = 1_000): Promise<boolean> {
  const u = new URL(url.split(",")[0]!);
  return new Promise((resolve) => {
    const s = tcpConnect({ host: u.hostname, port: Number(u.port || 4222) });
    s.setTimeout(timeoutMs);
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.once("timeout", () => (s.destroy(), resolve(false)));
  });
}

/**
 * `preferred` when nothing listens there (nor answers: a server bound to another address), else a
 * free port the OS gives. `taken` says which it was, for the log.
 */
export async function pickPort(preferred: number, host = "127.0.0.1"): Promise<{ port: number; taken: boolean }> {
  const bind = (port: number) =>
    new Promise<number | null>((resolve) => {
      const s = createServer();
      s.once("error", () => resolve(null));
      s.listen(port, host, () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
  if (!(await reachable(`nats://${host}:${preferred}`, 500)) && (await bind(preferred)) === preferred)
    return { port: preferred, taken: false };
  return { port: (await bind(0))!, taken: true };
}

export function findNatsServer(explicit?: string): string | null {
  if (explicit) return existsSync(explicit) ? explicit : null;
  const dirs = ["/usr/sbin", "/usr/bin", "/usr/local/bin", ...(process.env.PATH ?? "").split(delimiter)];
  for (const d of dirs) {
    const p = join(d, "nats-server");
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

export interface LocalNats {
  pid: number;
  url: string;
  /** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

/**
 * Starts `nats-server -js` for this start, its store under `storeDir`. It runs in its own process
 * group, so a Ctrl-C in the terminal reaches us first and ingest drains before the broker goes;
 * a small watchdog stops it should we die without closing it (SIGKILL, a crash).
 */
export async function startLocalNats(url: string, storeDir: string, bin: string): Promise<LocalNats> {
  const u = new URL(url.split(",")[0]!);
  mkdirSync(storeDir, { recursive: true });
  const child: ChildProcess = spawn(bin, ["-js", "-a", u.hostname, "-p", u.port || "4222", "-sd", storeDir], {
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let err = "";
  child.stderr!.on("data", (d) => (err = (err + d).slice(-4_000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}: ${err.trim().split("\n").pop()}`);
    if (await reachable(url, 200)) break;
    if (i === 149) {
      child.kill("SIGKILL");
      throw new Error(`nats-server did not listen on ${url} within 15 s: ${err.trim().split("\n").pop()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  // Should the start die without stopping it (SIGKILL, a crash), the watchdog stops the broker.
  const watchdog = startWatchdog(pid, "TERM");
  child.unref();
  return {
    pid,
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(t);
      // The watchdog would see the broker gone within half a second; do not leave it behind.
      watchdog.stop();
    },
  };
}
