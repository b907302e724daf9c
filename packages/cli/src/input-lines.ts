/**
 * The line format `pulse check` and `pulse publish` read (docs/operations.md, "Line format"):
 * one record per line, UTF-8, `\n` or `\r\n` line ends; blank lines are skipped and a byte-order
 * mark at the start of the file is ignored. Two forms:
 * - with `--feed F --source S`: every line is the payload exactly as sent, byte for byte, to
 *   `feeds.F.S` (a line that is not JSON is sent as it is, and refused as `bad_json`);
 * - without them: every line is a JSON object naming its own `subject` (`feeds.<feed>.<source>`)
 *   beside the record's fields. The payload is that object without `subject`, as JSON.stringify
 *   writes it (field order kept); or, for exact bytes, `{"subject": …, "raw": "<payload text>"}`.
 */
import { readFile } from "node:fs/promises";
import { subjects, type Feed, type Reason } from "@pulse/contracts";
import { CliError } from "./cli-error";

export interface InputRecord {
  /** Line number in the file, from 1. */
  line: number;
  /** Canonical subject (`feeds.<feed>.<source>`), or null when the line names none. */
  subject: string | null;
  /** The bytes to send. */
  payload: Uint8Array;
  /** Set when the line cannot be sent at all (it names no subject): the reason it is refused. */
  unsendable: { reason: Reason; detail: string } | null;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Reads `path` (or standard input for `-`) whole. */
export async function readInput(path: string, stdin: NodeJS.ReadableStream): Promise<Buffer> {
  if (path === "-") {
    const parts: Buffer[] = [];
    for await (const chunk of stdin) parts.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(parts);
  }
  try {
    return await readFile(path);
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Splits the input into records (see the module comment). */
export function parseLines(input: Buffer, route: { feed: Feed; source: string } | null): InputRecord[] {
  let body = input;
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) body = body.subarray(3);
  const out: InputRecord[] = [];
  let start = 0;
  for (let n = 1; start <= body.length; n++) {
    let end = body.indexOf(0x0a, start);
    if (end < 0) end = body.length;
    let line = body.subarray(start, end);
    start = end + 1;
    if (line.at(-1) === 0x0d) line = line.subarray(0, -1);
    if (line.every((b) => b === 0x20 || b === 0x09)) continue;
    out.push(
      route
        ? { line: n, subject: subjects.feed(route.feed, route.source), payload: new Uint8Array(line), unsendable: null }
        : withSubject(n, line),
    );
  }
  return out;
}

function withSubject(line: number, bytes: Buffer): InputRecord {
  const refuse = (reason: Reason, detail: string): InputRecord => ({
    line,
    subject: null,
    payload: new Uint8Array(bytes),
    unsendable: { reason, detail },
  });
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    return refuse(
      "bad_json",
      `not valid UTF-8 JSON (${(err as Error).message}), so it names no subject: give --feed and --source to send lines as they are`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return refuse("bad_json", 'expected one JSON object with a "subject" field');
  }
  const { subject, ...rest } = value as Record<string, unknown>;
  if (typeof subject !== "string" || subject.length === 0) {
    return refuse("bad_subject", 'the line names no "subject" (feeds.<feed>.<source>): add one, or give --feed and --source');
  }
  const keys = Object.keys(rest);
  if (keys.length === 1 && keys[0] === "raw" && typeof rest.raw === "string") {
    return { line, subject, payload: encoder.encode(rest.raw), unsendable: null };
  }
  return { line, subject, payload: encoder.encode(JSON.stringify(rest)), unsendable: null };
}
