/**
 * Running the CLI from tests: in-process (`runPulse`, fast, output captured) or as a child process
 * through the real bin (`spawnPulse`, for exit codes and messages as a user sees them).
 * Test-only; not exported from mod.ts.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { Readable } from "node:stream";
import type { Env } from "@pulse/config";
import { runCli } from "./program";

export interface PulseRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json(): any;
}

const result = (code: number, stdout: string, stderr: string): PulseRun => ({
  code,
  stdout,
  stderr,
  json() {
    try {
      return JSON.parse(stdout);
    } catch {
      throw new Error(`not JSON (exit ${code}):\n${stdout}\n${stderr}`);
    }
  },
});

/** Runs `pulse <args>` in this process with `env` as its whole environment. */
export async function runPulse(args: readonly string[], env: Env, stdin = ""): Promise<PulseRun> {
  let out = "";
  let err = "";
  const code = await runCli(args, {
    stdout: { write: (s: string | Uint8Array) => (out += typeof s === "string" ? s : Buffer.from(s).toString()), isTTY: false },
    stderr: { write: (s: string) => (err += s), isTTY: false },
    stdin: Readable.from([Buffer.from(stdin)]),
    env,
  });
  return result(code, out, err);
}

const bin = resolve(import.meta.dirname, "..", "bin", "pulse.mjs");

/** Runs the `pulse` bin as a child process (environment: this one's PATH and HOME, plus `env`). */
export function spawnPulse(args: readonly string[], env: Env, options: { stdin?: string; timeoutMs?: number } = {}): Promise<PulseRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      fail(new Error(`pulse ${args.join(" ")} did not finish in ${options.timeoutMs ?? 45_000} ms:\n${out}\n${err}`));
    }, options.timeoutMs ?? 45_000);
    child.on("error", fail);
    child.on("exit", (code) => {
      clearTimeout(timer);
      done(result(code ?? -1, out, err));
    });
    child.stdin.end(options.stdin ?? "");
  });
}

/** The cells of an xlsx file's first sheet, row by row (read back with exceljs, as Excel would). */
export async function readXlsx(file: string): Promise<(string | number | null)[][]> {
  const { default: ExcelJS } = await import("exceljs");
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.readFile(file);
  const rows: (string | number | null)[][] = [];
  wb.worksheets[0]!.eachRow((row) => rows.push((row.values as (string | number | null)[]).slice(1)));
  return rows;
}
