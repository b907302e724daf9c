/**
 * Cuts a body into records as it streams in, holding at most one record's bytes:
 * - NDJSON: the line format of `pulse check`/`publish` with `--feed --source` (one payload per
 *   line, `\n` or `\r\n`, blank lines skipped, a byte-order mark at the start ignored), numbered
 *   by physical line from 1;
 * - a JSON array: each element's exact bytes (whitespace around it dropped), numbered from 1. Only
 *   the array's punctuation is read here (strings, nesting); each element is judged by ingest's
 *   decoder like any payload.
 * A record longer than `maxRecordBytes` is not held: it comes out as `{ tooLarge }` and the rest
 * of it is skipped.
 */
export type SplitRecord = { line: number; payload: Uint8Array } | { line: number; tooLarge: number };

/** The body is not what its Content-Type says (a JSON body that is not an array). */
export class BodyShapeError extends Error {
  readonly code = "PULSE_BAD_BODY";
}

export interface RecordSplitter {
  push(chunk: Buffer): SplitRecord[];
  end(): SplitRecord[];
}

class Pieces {
  private parts: Buffer[] = [];
  size = 0;
  over = false;
  constructor(private readonly max: number) {}
  add(b: Buffer): void {
    if (b.length === 0) return;
    this.size += b.length;
    if (this.size > this.max) {
      this.over = true;
      this.parts = [];
      return;
    }
    this.parts.push(b);
  }
  take(): Buffer {
    const out = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    this.size = 0;
    this.over = false;
    return out;
  }
}

const isBlank = (b: Buffer) => b.every((c) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a);

export function ndjsonSplitter(maxRecordBytes: number): RecordSplitter {
  const cur = new Pieces(maxRecordBytes + 1);
  let line = 1;
  let first = true;
  const emit = (out: SplitRecord[]) => {
    const size = cur.size;
    const over = cur.over;
    let b = cur.take();
    if (first && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
    first = false;
    if (!over && b.at(-1) === 0x0d) b = b.subarray(0, -1);
    if (over || b.length > maxRecordBytes) out.push({ line, tooLarge: size });
    else if (!isBlank(b)) out.push({ line, payload: new Uint8Array(b) });
    line++;
  };
  return {
    push(chunk) {
      const out: SplitRecord[] = [];
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl < 0) break;
        cur.add(chunk.subarray(start, nl));
        emit(out);
        start = nl + 1;
      }
      cur.add(chunk.subarray(start));
      return out;
    },
    end() {
      const out: SplitRecord[] = [];
      if (cur.size > 0) emit(out);
      return out;
    },
  };
}

export function jsonArraySplitter(maxRecordBytes: number): RecordSplitter {
  const cur = new Pieces(maxRecordBytes);
  let state: "before" | "open" | "closed" = "before";
  let depth = 0;
  let inString = false;
  let escaped = false;
  let n = 1;
  let started = false; // the current element has a non-space byte
  const ws = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
  let bomChecked = false;

  const emit = (out: SplitRecord[]) => {
    const over = cur.over;
    const size = cur.size;
    const b = cur.take();
    if (over) out.push({ line: n, tooLarge: size });
    else out.push({ line: n, payload: new Uint8Array(trim(b)) });
    n++;
    started = false;
  };
  const trim = (b: Buffer) => {
    let s = 0;
    let e = b.length;
    while (s < e && ws(b[s]!)) s++;
    while (e > s && ws(b[e - 1]!)) e--;
    return b.subarray(s, e);
  };

  return {
    push(chunkIn) {
      let chunk = chunkIn;
      if (!bomChecked && state === "before") {
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
        bomChecked = chunk.length > 0;
      }
      const out: SplitRecord[] = [];
      let from = 0;
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]!;
        if (state === "before") {
          if (ws(c)) continue;
          if (c !== 0x5b)
            throw new BodyShapeError("an application/json body must be a JSON array of records (or send application/x-ndjson)");
          state = "open";
          from = i + 1;
          continue;
        }
        if (state === "closed") {
          if (!ws(c)) throw new BodyShapeError("the JSON array is followed by more than whitespace");
          continue;
        }
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 0x5c) escaped = true;
          else if (c === 0x22) inString = false;
          continue;
        }
        if (c === 0x22) {
          inString = true;
          started = true;
        } else if (c === 0x7b || c === 0x5b) {
          depth++;
          started = true;
        } else if ((c === 0x7d || c === 0x5d) && depth > 0) {
          depth--;
        } else if (depth === 0 && (c === 0x2c || c === 0x5d)) {
          cur.add(chunk.subarray(from, i));
          // `[]` and a trailing `]` after the last element end nothing new.
          if (c === 0x2c || started || cur.size > 0) {
            if (c === 0x5d && !started && isBlank(cur.take())) {
              // `[]` or `[ ]`: no element.
            } else emit(out);
          }
          from = i + 1;
          if (c === 0x5d) state = "closed";
        } else if (!ws(c)) started = true;
      }
      if (state === "open") cur.add(chunk.subarray(from));
      return out;
    },
    end() {
      const out: SplitRecord[] = [];
      if (state === "before") return out;
      // A body cut inside the array: what was read of the last element is judged as it is.
      if (state === "open" && (started || cur.size > 0)) emit(out);
      return out;
    },
  };
}
