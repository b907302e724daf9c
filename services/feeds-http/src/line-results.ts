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

/**
 * The verdicts of one request, kept compactly until it answers: an 8 MiB body is some 80,000
 * lines, and 50 such uploads at once held as objects (~90 bytes a line) were most of the door's
 * memory. Here a line costs 13 bytes plus its id's UTF-8 bytes. Reasons and details are
 * interned: a whole resent upload is 80,000 duplicates whose details differ only by the line's id,
 * and one that outlived FEEDS_HTTP_SETTLE_MS as many unsettled lines differing by a sequence: the
 * id and the sequence are cut out of the text (kept once per distinct text) and put back when the
 * answer is written. Lines may arrive in any order; `chunks()` writes them sorted by line, as JSON
 * text, a piece at a time.
 */
export class LineResults {
  readonly counts: Record<DoorOutcome, number> = { accepted: 0, duplicate: 0, refused: 0, unsettled: 0, not_sent: 0 };
  private n = 0;
  private lines = new Uint32Array(256);
  private codes = new Uint8Array(256);
  /** End offset of each line's id in `ids` (its start is the previous line's end). */
  private idEnds = new Uint32Array(256);
  private ids = Buffer.allocUnsafe(4096);
  private idBytes = 0;
  /** Per line: 1 + its index in `texts`, or 0 for none. */
  private textOf = new Uint32Array(256);
  private readonly texts: { reason?: Reason; detail?: string; id: boolean; seq: boolean }[] = [];
  private readonly textIndex = new Map<string, number>();
  /** The sequence cut out of a line's detail, allocated at the first such line. */
  private seqs: Float64Array | null = null;
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
    if (i === this.lines.length) {
      const grow = <T extends Uint32Array | Uint8Array | Float64Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.lines = grow(this.lines, (n) => new Uint32Array(n));
      this.codes = grow(this.codes, (n) => new Uint8Array(n));
      this.idEnds = grow(this.idEnds, (n) => new Uint32Array(n));
      this.textOf = grow(this.textOf, (n) => new Uint32Array(n));
      if (this.seqs) this.seqs = grow(this.seqs, (n) => new Float64Array(n));
    }
    this.lines[i] = r.line;
    let code = codeOf.get(r.outcome)!;
    if (r.id !== undefined) {
      code |= hasIdBit;
      const need = Buffer.byteLength(r.id);
      if (this.idBytes + need > this.ids.length) {
        const b = Buffer.allocUnsafe(Math.max(this.ids.length * 2, this.idBytes + need));
        this.ids.copy(b, 0, 0, this.idBytes);
        this.ids = b;
      }
      this.idBytes += this.ids.write(r.id, this.idBytes);
    }
    this.codes[i] = code;
    this.idEnds[i] = this.idBytes;
    this.textOf[i] = r.reason !== undefined || r.detail !== undefined ? this.intern(i, r, seq) : 0;
    if (r.line > this.maxLine) this.maxLine = r.line;
    this.counts[r.outcome]++;
    this.n++;
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
        this.seqs ??= new Float64Array(this.lines.length);
        this.seqs[i] = seq;
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
    const order = new Uint32Array(this.n);
    for (let i = 0; i < this.n; i++) order[i] = i;
    const lines = this.lines;
    order.sort((a, b) => lines[a]! - lines[b]!);
    let out = JSON.stringify({ ...head, ...this.counts }).slice(0, -1) + ',"results":[';
    for (let k = 0; k < this.n; k++) {
      const i = order[k]!;
      const code = this.codes[i]!;
      const outcome = outcomes[code & ~hasIdBit]!;
      // The keys in the order the answer has always listed them: line, id, outcome, reason, detail.
      const r: LineResult =
        code & hasIdBit
          ? { line: lines[i]!, id: this.ids.toString("utf8", i === 0 ? 0 : this.idEnds[i - 1]!, this.idEnds[i]!), outcome }
          : { line: lines[i]!, outcome };
      const t = this.textOf[i]! > 0 ? this.texts[this.textOf[i]! - 1]! : null;
      if (t?.reason !== undefined) r.reason = t.reason;
      if (t?.detail !== undefined) {
        let d = t.detail;
        if (t.id) d = d.replace("\u0001", () => r.id!);
        if (t.seq) d = d.replace("\u0002", () => String(this.seqs![i]));
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
