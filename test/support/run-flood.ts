/** Runs test/support/flood-publisher.ts as its own process; resolves with what it published. */
import { spawn } from "node:child_process";
import { resolve } from "node:path";

const root = resolve(import.meta.dirname, "..", "..");

export interface FloodResult {
  good: number;
  bad: Record<string, number>;
  seconds: number;
}

export interface FloodOptions {
  natsUrl: string;
  subject: string;
  feed: string;
  source: string;
  durationMs: number;
  /** Messages per second; full rate when absent. */
  rate?: number;
  /** Every other message malformed. */
  bad?: boolean;
  tag: string;
}

export function runFlood(o: FloodOptions): { done: Promise<FloodResult>; kill(): void } {
  const child = spawn(process.execPath, [resolve(root, "node_modules/tsx/dist/cli.mjs"), "test/support/flood-publisher.ts"], {
    cwd: root,
    env: {
      ...process.env,
      NATS_URL: o.natsUrl,
      FLOOD_SUBJECT: o.subject,
      FLOOD_FEED: o.feed,
      FLOOD_SOURCE: o.source,
      FLOOD_MS: String(o.durationMs),
      FLOOD_BAD: o.bad ? "1" : "0",
      FLOOD_TAG: o.tag,
      ...(o.rate ? { FLOOD_RATE: String(o.rate) } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const done = new Promise<FloodResult>((res, rej) =>
    child.once("exit", (code) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0) return rej(new Error(`flood publisher exited with ${code}:\n${out}`));
      try {
        res(JSON.parse(line) as FloodResult);
      } catch {
        rej(new Error(`flood publisher said:\n${out}`));
      }
    }),
  );
  return { done, kill: () => void child.kill("SIGKILL") };
}
