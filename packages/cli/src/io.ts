import type { Env } from "@pulse/config";

/** Where a command reads and writes: the process's streams, or a test's buffers. */
export interface CliIo {
  stdout: { write(s: string | Uint8Array): unknown; isTTY?: boolean; columns?: number };
  stderr: { write(s: string): unknown; isTTY?: boolean };
  /** Standard input, for `check -` and `publish -`. */
  stdin: NodeJS.ReadableStream;
  env: Env;
}

/** The process's own streams and environment. */
export const processIo = (): CliIo => ({ stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });

/** Prints `value` as one JSON document (for scripts: `--json`). */
export function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Display width: combining marks (Vietnamese tone marks written apart) take no column. */
const width = (s: string) => s.normalize("NFC").replace(/\p{M}/gu, "").length;

/** A plain text table: a header row, a rule, the rows; numbers right-aligned. */
export function formatTable(headers: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const cells = rows.map((r) => r.map((c) => (c === null ? "–" : typeof c === "number" ? formatNumber(c) : c)));
  const widths = headers.map((h, i) => Math.max(width(h), ...cells.map((r) => width(r[i] ?? ""))));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number" || r[i] === null));
  const pad = (s: string, i: number) => {
    const fill = " ".repeat(Math.max(0, widths[i]! - width(s)));
    return numeric[i] ? fill + s : s + fill;
  };
  const line = (r: readonly string[]) => r.map(pad).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n") + "\n";
}

/** Whole numbers as they are; ratios with up to four decimals. */
export function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "–";
  return Number.isInteger(n) ? String(n) : n.toFixed(4).replace(/0+$/, "");
}
