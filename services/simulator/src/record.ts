import type { Feed, FeedData } from "@pulse/contracts";
import { localIso } from "./local-time";

/** One record the simulator means to publish (before faults). */
export type SimRecord = {
  [F in Feed]: { feed: F; source: string; id: string; revision: number; tsMs: number; area: string; data: FeedData[F] };
}[Feed];

/** A source of records in time order. */
export interface SimProcess {
  readonly name: string;
  /** Every record with ts < untilMs not yet taken, in ts order. */
  take(untilMs: number): SimRecord[];
}

/** The envelope of DESIGN.md, as JSON text. */
export const envelopeJson = (r: SimRecord): string =>
  JSON.stringify({ v: 1, id: r.id, source: r.source, ts: localIso(r.tsMs), area: r.area, revision: r.revision, data: r.data });

/** A min-heap of records by ts (then insertion order), for events scheduled ahead. */
export class RecordHeap {
  private items: { r: SimRecord; n: number }[] = [];
  private n = 0;
  get size(): number {
    return this.items.length;
  }
  push(r: SimRecord): void {
    const a = this.items;
    a.push({ r, n: this.n++ });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  /** Pops every record with ts < untilMs, in order. */
  popBefore(untilMs: number, out: SimRecord[]): void {
    const a = this.items;
    while (a.length > 0 && a[0]!.r.tsMs < untilMs) {
      out.push(a[0]!.r);
      const last = a.pop()!;
      if (a.length === 0) break;
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const rr = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (rr < a.length && this.less(a[rr]!, a[m]!)) m = rr;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
  }
  private less(x: { r: SimRecord; n: number }, y: { r: SimRecord; n: number }): boolean {
    return x.r.tsMs < y.r.tsMs || (x.r.tsMs === y.r.tsMs && x.n < y.n);
  }
}
