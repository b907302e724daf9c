/**
 * Runs services/ingest as a separate process (tsx main.ts), as production does: for tests that
 * kill it or run two of them side by side.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { freePort } from "@pulse/testkit";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..", "..");
const children = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});

export interface IngestProcess {
  port: number;
  child: ChildProcess;
  output: () => string;
  /** Sum of pulse_ingest_events_total over every label set, from its /metrics. */
  eventsTotal(): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnIngest(env: Record<string, string>): Promise<IngestProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [resolve(root, "node_modules/tsx/dist/cli.mjs"), "services/ingest/src/main.ts"], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "info", ...env, INGEST_PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const until = Date.now() + 30_000;
  while (!out.includes("ingest started")) {
    if (child.exitCode !== null) throw new Error(`ingest exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > until) throw new Error(`ingest did not start in 30 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    child,
    output: () => out,
    async eventsTotal() {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return text
        .split("\n")
        .filter((l) => l.startsWith("pulse_ingest_events_total{"))
        .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
    },
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      children.delete(child);
    },
  };
}
