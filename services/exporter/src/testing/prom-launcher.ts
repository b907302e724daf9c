import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { freePort } from "@pulse/testkit";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * Launchers for Debian's Prometheus and Alertmanager, on free ports with temporary folders,
 * for tests. Test support only. Every process started here is killed by its `close()`.
 */
export interface Launched {
  url: string;
  port: number;
  dir: string;
  output(): string;
  close(): Promise<void>;
}

async function launch(
  bin: string,
  args: (dir: string, port: number) => string[],
  files: Record<string, string>,
  readyPath: string,
  tag: string,
): Promise<Launched> {
  const dir = await mkdtemp(join(tmpdir(), `pulse-${tag}-`));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(bin, args(dir, port), { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out = (out + d).slice(-20_000)));
  child.stderr!.on("data", (d) => (out = (out + d).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`${bin} exited at start: ${out}`);
    }
    try {
      const r = await fetch(url + readyPath);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await close();
      throw new Error(`${bin} not ready after 20 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, dir, output: () => out, close };
}

/** Starts Prometheus with `files` (relative to its folder; `prometheus.yml` is the config). */
export function startPrometheus(files: Record<string, string>): Promise<Launched> {
  return launch(
    "/usr/bin/prometheus",
    (dir, port) => [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    files,
    "/-/ready",
    "prometheus",
  );
}

/** Starts Alertmanager with `alertmanager.yml` (clustering off: no gossip port to collide on). */
export function startAlertmanager(config: string): Promise<Launched> {
  return launch(
    "/usr/bin/prometheus-alertmanager",
    (dir, port) => [
      `--config.file=${join(dir, "alertmanager.yml")}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
      "--log.level=warn",
    ],
    { "alertmanager.yml": config },
    "/-/ready",
    "alertmanager",
  );
}

/** Runs an instant query; throws with Prometheus' error when the query fails. */
export async function promQuery(
  url: string,
  query: string,
  time?: number,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const params = new URLSearchParams({ query });
  if (time !== undefined) params.set("time", String(time));
  const r = await fetch(`${url}/api/v1/query?${params}`);
  const body = (await r.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (body.status !== "success") throw new Error(`query ${query} failed: ${body.error}`);
  if (body.data!.resultType === "scalar") return [{ metric: {}, value: body.data!.result as [number, string] }];
  return body.data!.result as { metric: Record<string, string>; value: [number, string] }[];
}

/** Polls `check` until it returns a value other than undefined, or throws after `ms`. */
export async function eventually<T>(check: () => Promise<T | undefined>, ms = 20_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
