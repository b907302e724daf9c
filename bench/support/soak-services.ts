/**
 * The soak's processes: each service of `pnpm start` (ingest, exporter, live gateway) as its own
 * `tsx services/<name>/src/main.ts`, so that each one's RSS is its own (in `pnpm start` they share
 * one process, and one RSS). Wired as scripts/start.ts wires them: the same database, the same
 * stream names (here a fresh PULSE_NAMESPACE), the service's own loadConfig(env).
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "@pulse/testkit";
import { procStats } from "./live-proc";

const root = fileURLToPath(new URL("../../", import.meta.url));

export interface ServiceProc {
  name: string;
  child: ChildProcess;
  /** Port of its /metrics. */
  metricsPort: number;
  /** Extra ports (the gateway's socket port). */
  port: number;
  output: () => string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

/** Starts `services/<dir>/src/main.ts` with `env` and waits until its /healthz answers 200. */
export async function startService(
  name: string,
  dir: string,
  env: Record<string, string>,
  ports: { metricsVar: string; portVar?: string },
): Promise<ServiceProc> {
  const metricsPort = await freePort();
  const port = ports.portVar ? await freePort() : metricsPort;
  const child = fork(`${root}services/${dir}/src/main.ts`, [], {
    cwd: root,
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...env, [ports.metricsVar]: String(metricsPort), ...(ports.portVar ? { [ports.portVar]: String(port) } : {}) },
    stdio: ["ignore", "pipe", "pipe", "ipc"],
  });
  running.add(child);
  let out = "";
  child.stdout!.on("data", (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on("data", (d) => (out = (out + d).slice(-20_000)));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const until = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${out}`);
    try {
      if ((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) throw new Error(`${name} did not become healthy in 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    name,
    child,
    metricsPort,
    port,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (child.exitCode === null) child.kill("SIGKILL");
      }
      running.delete(child);
    },
  };
}

/** One scrape of a /metrics page: series text (name plus labels) → value. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of every series of `name` (any labels) whose labels contain each of `having`. */
export function sumOf(m: Map<string, number>, name: string, having: string[] = []): number {
  let s = 0;
  for (const [k, v] of m) {
    if (k !== name && !k.startsWith(name + "{")) continue;
    if (having.every((h) => k.includes(h))) s += v;
  }
  return s;
}

/** RSS (bytes) of a process, from /proc. */
export const rssOf = (pid: number | undefined): number => (pid === undefined ? NaN : procStats(pid).rssBytes);

/**
 * Cumulative buckets of a Prometheus histogram summed over its label sets: le → count. The
 * difference of two readings is the window's histogram; `quantileOf` reads a quantile from it as
 * Prometheus's histogram_quantile does (linear within the bucket).
 */
export function bucketsOf(m: Map<string, number>, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const [k, v] of m) {
    if (!k.startsWith(`${name}_bucket{`)) continue;
    const le = /le="([^"]+)"/.exec(k)?.[1];
    if (le === undefined) continue;
    const b = le === "+Inf" ? Infinity : Number(le);
    out.set(b, (out.get(b) ?? 0) + v);
  }
  return out;
}

export function quantileOf(now: Map<number, number>, before: Map<number, number> | null, q: number): number {
  const les = [...now.keys()].sort((a, b) => a - b);
  const cum = les.map((le) => (now.get(le) ?? 0) - (before?.get(le) ?? 0));
  const total = cum.at(-1) ?? 0;
  if (total <= 0) return NaN;
  const want = q * total;
  for (let i = 0; i < les.length; i++) {
    if (cum[i]! >= want) {
      const lo = i === 0 ? 0 : les[i - 1]!;
      const hi = les[i]!;
      if (!Number.isFinite(hi)) return lo;
      const below = i === 0 ? 0 : cum[i - 1]!;
      const inBucket = cum[i]! - below;
      return lo + ((hi - lo) * (want - below)) / (inBucket || 1);
    }
  }
  return NaN;
}
