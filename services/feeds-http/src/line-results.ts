import type { DoorOutcome, Reason } from "@pulse/contracts";

/** One line's verdict, as the answer lists it. */
export interface LineResult {
  line: number;
  id?: string;
  outcome: DoorOutcome;
  reason?: Reason;
  detail?: string;
}

const outcomes = ["accepted", "duplicate", "refused", "unsettled", "not_sent"] as const satisfies readonly DoorOutcome[];
const codeOf = new Map<DoorOutcome, number>(outcomes.map((o, i) => [o, i]));
const hasIdBit = 0x80;

/** Lines a page of the per-line arrays holds; pages are added as lines come, never copied. */
const pageLines = 4096;
/** Bytes of a page of ids; a longer id is kept apart as a string. */
const idPageBytes = 64 * 1024;
const bigIdBytes = 1024;
/** Every this many lines an id is kept whole, so that reading one unpacks at most as many. */
const restartLines = 16;

/**
 * The verdicts of one request, kept compactly until it answers: an 8 MiB body is some 60,000
 * lines, and 50 such uploads at once held as objects (~90 bytes a line) were most of the door's
 * memory. Here a line costs 10 bytes plus what its id's UTF-8 bytes do not share with the previous
 * line's id (4 more, and 8 for a sequence, on a page of 4,096 lines where some line has a reason
 * or detail), in fixed pages added as the request grows: nothing is copied on growth and nothing
 * is held twice. Reasons and details are
 * interned: a whole resent upload is 80,000 duplicates whose details differ only by the line's id,
 * and one that outlived FEEDS_HTTP_SETTLE_MS as many unsettled lines differing by a sequence: the
 * id and the sequence are cut out of the text (kept once per distinct text) and put back when the
 * answer is written. Lines may arrive in any order; `chunks()` writes them sorted by line, as JSON
 * text, a piece at a time.
 */
export class LineResults {
  readonly counts: Record<DoorOutcome, number> = { accepted: 0, duplicate: 0, refused: 0, unsettled: 0, not_sent: 0 };
  private n = 0;
  private readonly lines: Uint32Array[] = [];
  private readonly codes: Uint8Array[] = [];
  /** End of each line's id in the id pages' space (page k starts at k × idPageBytes). */
  private readonly idEnds: Uint32Array[] = [];
  private readonly idPages: Buffer[] = [];
  private idBytes = 0;
  /**
   * Bytes each id shares with the previous line's (pushed just before it): only the rest is kept.
   * Ids of one upload are often alike (`mem-12-34567`, `mem-12-34568`), so most take 1–3 bytes.
   */
  private readonly shared: Uint8Array[] = [];
  private prevId: Buffer | null = null;
  private unpacked: { i: number; id: Buffer } | null = null;
  /** Ids over `bigIdBytes`, by line index (rare: an id is a field of a record). */
  private readonly bigIds = new Map<number, string>();
  /** Per line: 1 + its index in `texts`, or 0 for none; a page only where some line has one. */
  private readonly textOf: (Uint32Array | undefined)[] = [];
  private readonly texts: { reason?: Reason; detail?: string; id: boolean; seq: boolean }[] = [];
  private readonly textIndex = new Map<string, number>();
  /** The sequence cut out of a line's detail, a page only where some line has one. */
  private readonly seqs: (Float64Array | undefined)[] = [];
  private maxLine = 0;

  get size(): number {
    return this.n;
  }

  /** The highest line number with a verdict (0: none). */
  get lastLine(): number {
    return this.maxLine;
  }

  /** Records one verdict; `seq`, when given, is a number its detail names that differs by line. */
  push(r: LineResult, seq?: number): void {
    const i = this.n;
    const p = i >>> 12;
    const o = i & (pageLines - 1);
    if (o === 0) {
      this.lines.push(new Uint32Array(pageLines));
      this.codes.push(new Uint8Array(pageLines));
      this.idEnds.push(new Uint32Array(pageLines));
      this.shared.push(new Uint8Array(pageLines));
      this.textOf.push(undefined);
      this.seqs.push(undefined);
    }
    this.lines[p]![o] = r.line;
    let code = codeOf.get(r.outcome)!;
    let prevId: Buffer | null = null;
    if (r.id !== undefined) {
      code |= hasIdBit;
      const bytes = Buffer.from(r.id);
      if (bytes.length > bigIdBytes) this.bigIds.set(i, r.id);
      else {
        let same = 0;
        if (this.prevId && i % restartLines !== 0) {
          const max = Math.min(255, this.prevId.length, bytes.length);
          while (same < max && this.prevId[same] === bytes[same]) same++;
        }
        this.shared[p]![o] = same;
        prevId = bytes;
        const need = bytes.length - same;
        if (need > 0) {
          // A piece never straddles two pages: one that does not fit starts the next.
          let at = this.idBytes;
          if (at % idPageBytes === 0 || Math.floor(at / idPageBytes) !== Math.floor((at + need - 1) / idPageBytes))
            at = Math.ceil(at / idPageBytes) * idPageBytes;
          const page = Math.floor(at / idPageBytes);
          if (page === this.idPages.length) this.idPages.push(Buffer.allocUnsafe(idPageBytes));
          bytes.copy(this.idPages[page]!, at % idPageBytes, same);
          this.idBytes = at + need;
        }
      }
    }
    this.prevId = prevId;
    this.codes[p]![o] = code;
    this.idEnds[p]![o] = this.idBytes;
    if (r.reason !== undefined || r.detail !== undefined) (this.textOf[p] ??= new Uint32Array(pageLines))[o] = this.intern(i, r, seq);
    if (r.line > this.maxLine) this.maxLine = r.line;
    this.counts[r.outcome]++;
    this.n++;
  }

  /** The bytes kept of line index `i`'s id: all of it, or what follows its `shared` prefix. */
  private kept(i: number): Buffer {
    const end = this.idEnds[i >>> 12]![i & (pageLines - 1)]!;
    const prev = i === 0 ? 0 : this.idEnds[(i - 1) >>> 12]![(i - 1) & (pageLines - 1)]!;
    if (end === prev) return Buffer.alloc(0);
    // The previous piece's end, unless this one moved to the start of its page.
    const page = Math.floor((end - 1) / idPageBytes);
    const start = Math.max(prev, page * idPageBytes);
    return this.idPages[page]!.subarray(start - page * idPageBytes, end - page * idPageBytes);
  }

  /** The id of line index `i` (one with `hasIdBit`). */
  private idOf(i: number): string {
    const big = this.bigIds.get(i);
    if (big !== undefined) return big;
    const sharedOf = (k: number) => this.shared[k >>> 12]![k & (pageLines - 1)]!;
    // Back to the last id kept whole (at most `restartLines` back), or to the one just unpacked.
    let k = i;
    while (sharedOf(k) > 0 && this.unpacked?.i !== k - 1) k--;
    let id = sharedOf(k) > 0 ? Buffer.concat([this.unpacked!.id.subarray(0, sharedOf(k)), this.kept(k)]) : this.kept(k);
    for (let j = k + 1; j <= i; j++) id = Buffer.concat([id.subarray(0, sharedOf(j)), this.kept(j)]);
    this.unpacked = { i, id };
    return id.toString("utf8");
  }

  private intern(i: number, r: LineResult, seq: number | undefined): number {
    let detail = r.detail;
    let id = false;
    let sq = false;
    // Placeholders only where neither the text nor the id holds one already.
    if (detail !== undefined && !/[\u0001\u0002]/.test(detail)) {
      if (r.id !== undefined && r.id.length > 0 && !/[\u0001\u0002]/.test(r.id) && detail.includes(r.id)) {
        detail = detail.replace(r.id, "\u0001");
        id = true;
      }
      if (seq !== undefined && detail.includes(String(seq))) {
        (this.seqs[i >>> 12] ??= new Float64Array(pageLines))[i & (pageLines - 1)] = seq;
        detail = detail.replace(String(seq), "\u0002");
        sq = true;
      }
    }
    const key = `${id ? 1 : 0}${sq ? 1 : 0}${r.reason ?? ""}\u0000${detail ?? "\u0000"}`;
    let k = this.textIndex.get(key);
    if (k === undefined) {
      k = this.texts.length;
      this.texts.push({ reason: r.reason, detail, id, seq: sq });
      this.textIndex.set(key, k);
    }
    return k + 1;
  }

  /** The answer's JSON (`head` and then `"results":[…]`), sorted by line, in pieces of about `pieceBytes`. */
  *chunks(head: Record<string, unknown>, pieceBytes = 64 * 1024): Generator<string> {
    const lineOf = (i: number) => this.lines[i >>> 12]![i & (pageLines - 1)]!;
    const order = new Uint32Array(this.n);
    let sorted = true;
    for (let i = 0; i < this.n; i++) {
      order[i] = i;
      if (i > 0 && lineOf(i) < lineOf(i - 1)) sorted = false;
    }
    if (!sorted) order.sort((a, b) => lineOf(a) - lineOf(b));
    let out = JSON.stringify({ ...head, ...this.counts }).slice(0, -1) + ',"results":[';
    for (let k = 0; k < this.n; k++) {
      const i = order[k]!;
      const p = i >>> 12;
      const o = i & (pageLines - 1);
      const code = this.codes[p]![o]!;
      const outcome = outcomes[code & ~hasIdBit]!;
      // The keys in the order the answer has always listed them: line, id, outcome, reason, detail.
      const r: LineResult = code & hasIdBit ? { line: lineOf(i), id: this.idOf(i), outcome } : { line: lineOf(i), outcome };
      const ti = this.textOf[p]?.[o] ?? 0;
      const t = ti > 0 ? this.texts[ti - 1]! : null;
      if (t?.reason !== undefined) r.reason = t.reason;
      if (t?.detail !== undefined) {
        let d = t.detail;
        if (t.id) d = d.replace("\u0001", () => r.id!);
        if (t.seq) d = d.replace("\u0002", () => String(this.seqs[p]![o]));
        r.detail = d;
      }
      out += (k === 0 ? "" : ",") + JSON.stringify(r);
      if (out.length >= pieceBytes) {
        yield out;
        out = "";
      }
    }
    yield out + "]}\n";
  }
}
