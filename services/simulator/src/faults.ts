import { msgId, type Reason } from "@pulse/contracts";
import { localIso } from "./local-time";
import { rngFor, type Rng } from "./prng";
import type { OutMessage } from "./publisher";
import { envelopeJson, type SimRecord } from "./record";

export interface SilentSpec {
  source: string;
  /** How long it stays silent from the start of the live phase; null for the whole run. */
  forMs: number | null;
}

/** Faults on demand. Shares are per record (0–1). */
export interface Faults {
  /** Share of records sent twice: alternately with the same Msg-Id (the broker drops it) and without one (ingest counts a duplicate). */
  duplicates: number;
  /** Share of records swapped with the next one. */
  reorder: number;
  /** Share of e-document and dossier records held back 5–60 s and sent after later ones. */
  late: number;
  /** Share of records restated (revision 1, a corrected value) a tick later. */
  restate: number;
  /** Share of records followed by a malformed message, cycling through the reasons below. */
  malformed: number;
  silent: SilentSpec[];
  /** Extra e-documents sent at once when the live phase begins, as fast as the window allows. */
  flood: number;
}

export const noFaults: Faults = Object.freeze({ duplicates: 0, reorder: 0, late: 0, restate: 0, malformed: 0, silent: [], flood: 0 });

/** The malformed kinds, each with the reason ingest must give it. */
export const malformedKinds = [
  "bad_json",
  "bad_shape",
  "bad_time",
  "future_time",
  "unknown_area",
  "source_mismatch",
] as const satisfies readonly Reason[];

export interface Injected {
  duplicatesSameMsgId: number;
  duplicatesNoMsgId: number;
  reordered: number;
  late: number;
  restatements: number;
  malformed: Partial<Record<Reason, number>>;
  silenced: number;
  flood: number;
}

/**
 * Turns the records of one tick into messages, with the faults asked for. Decisions come from
 * their own PRNG, so a seed gives the same faults on the same events.
 */
export class FaultInjector {
  readonly injected: Injected = {
    duplicatesSameMsgId: 0,
    duplicatesNoMsgId: 0,
    reordered: 0,
    late: 0,
    restatements: 0,
    malformed: {},
    silenced: 0,
    flood: 0,
  };
  private readonly rng: Rng;
  private held: { at: number; r: SimRecord }[] = [];
  private restateNext: SimRecord[] = [];
  private badSeq = 0;
  private dupSeq = 0;
  private liveFrom = Number.POSITIVE_INFINITY;

  constructor(
    private readonly faults: Faults,
    seed: number,
    private readonly subjectOf: (r: { feed: SimRecord["feed"]; source: string }) => string,
    private readonly tag: string,
    /** The broker's now: a future time must be in the future of the broker's receipt, even in the backfill. */
    private readonly wallNow: () => number = Date.now,
  ) {
    this.rng = rngFor(seed, "faults");
  }

  /** Marks the start of the live phase (silences are measured from it). */
  startLive(now: number): void {
    this.liveFrom = now;
  }

  silent(source: string, now: number): boolean {
    return this.faults.silent.some(
      (s) => s.source === source && now >= this.liveFrom && (s.forMs === null || now < this.liveFrom + s.forMs),
    );
  }

  /** Messages for `records` (in order) at `now`; `final` lets every held record go. */
  apply(records: SimRecord[], now: number, final = false): OutMessage[] {
    const f = this.faults;
    const out: (OutMessage & { swappable: boolean })[] = [];
    const emit = (r: SimRecord, swappable = true) => out.push({ ...this.message(r), swappable });
    // Restatements decided last tick go first: their originals are already on their way.
    for (const r of this.restateNext.splice(0)) {
      emit(r, false);
      this.injected.restatements++;
    }
    const due = this.held.filter((h) => final || h.at <= now);
    this.held = this.held.filter((h) => !(final || h.at <= now));
    for (const h of due) emit(h.r, false);

    for (const r of records) {
      if (this.silent(r.source, now)) {
        this.injected.silenced++;
        continue;
      }
      if (f.late > 0 && (r.feed === "esign" || r.feed === "egov") && !final && this.rng() < f.late) {
        this.injected.late++;
        this.held.push({ at: now + 5_000 + Math.floor(this.rng() * 55_000), r });
        continue;
      }
      emit(r);
      if (f.duplicates > 0 && this.rng() < f.duplicates) {
        const same = this.dupSeq++ % 2 === 0;
        const m = this.message(r);
        if (same) this.injected.duplicatesSameMsgId++;
        else this.injected.duplicatesNoMsgId++;
        out.push({ ...m, msgId: same ? m.msgId : null, expectDuplicate: same, swappable: false });
      }
      if (f.restate > 0 && r.feed !== "bts" && this.rng() < f.restate) this.restateNext.push(this.restated(r));
      if (f.malformed > 0 && this.rng() < f.malformed) out.push({ ...this.malformed(r, now), swappable: true });
    }
    if (final) {
      for (const r of this.restateNext.splice(0)) {
        emit(r, false);
        this.injected.restatements++;
      }
    }
    if (f.reorder > 0) {
      for (let i = 0; i + 1 < out.length; i++) {
        if (out[i]!.swappable && out[i + 1]!.swappable && this.rng() < f.reorder) {
          [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
          this.injected.reordered++;
          i++;
        }
      }
    }
    return out.map(({ swappable: _s, ...m }) => m);
  }

  /** Extra e-documents for a flood, stamped `now`. */
  flood(n: number, now: number): OutMessage[] {
    const out: OutMessage[] = [];
    for (let k = 0; k < n; k++) {
      this.injected.flood++;
      out.push(
        this.message({
          feed: "esign",
          source: "edoc",
          id: `FLOOD-${this.tag}-${now}-${k}`,
          revision: 0,
          tsMs: now,
          area: "40",
          data: { agency: "so-khcn", doc: `${k}/TB-KHCN`, signed: this.rng() < 0.955, signer: "organization" },
        }),
      );
    }
    return out;
  }

  get holding(): number {
    return this.held.length + this.restateNext.length;
  }

  private message(r: SimRecord): OutMessage {
    return { subject: this.subjectOf(r), body: envelopeJson(r), msgId: msgId(r.source, r.id, r.revision) };
  }

  private restated(r: SimRecord): SimRecord {
    switch (r.feed) {
      case "esign":
        return { ...r, revision: r.revision + 1, data: { ...r.data, signed: !r.data.signed } };
      case "egov": {
        const status =
          r.data.status === "resolved_late" ? "resolved_on_time" : r.data.status === "resolved_on_time" ? "resolved_late" : r.data.status;
        const channel = status === r.data.status ? (r.data.channel === "in_person" ? "online_partial" : "in_person") : r.data.channel;
        return { ...r, revision: r.revision + 1, data: { ...r.data, status, channel } };
      }
      case "subscribers":
        return {
          ...r,
          revision: r.revision + 1,
          data: { ...r.data, count: Math.max(0, r.data.count + Math.round((this.rng() - 0.5) * 20)) },
        };
      default:
        return { ...r, revision: r.revision + 1 };
    }
  }

  private malformed(r: SimRecord, now: number): OutMessage {
    const kind = malformedKinds[this.badSeq % malformedKinds.length]!;
    const id = `BAD-${this.tag}-${this.badSeq++}`;
    this.injected.malformed[kind] = (this.injected.malformed[kind] ?? 0) + 1;
    const env: Record<string, unknown> = { v: 1, id, source: r.source, ts: localIso(now), area: r.area, revision: 0, data: r.data };
    let body: string;
    switch (kind) {
      case "bad_json":
        body = JSON.stringify(env).slice(0, 40);
        break;
      case "bad_shape":
        body = JSON.stringify({ ...env, data: { ...r.data, unexpected: 1 } });
        break;
      case "bad_time":
        body = JSON.stringify({ ...env, ts: localIso(now).slice(0, 19).replace("T", " ") });
        break;
      case "future_time":
        body = JSON.stringify({ ...env, ts: localIso(Math.max(now, this.wallNow()) + 3 * 3_600_000) });
        break;
      case "unknown_area":
        body = JSON.stringify({ ...env, area: "499" });
        break;
      case "source_mismatch":
        body = JSON.stringify({ ...env, source: r.source === "edoc" ? "dvc" : "edoc" });
        break;
    }
    return { subject: this.subjectOf(r), body, msgId: msgId(r.source, id, 0) };
  }
}
