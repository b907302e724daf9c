import { keyString, type LiveChange, type LiveEntry, type LiveKey, type LiveValue } from "@pulse/contracts";

/** One key of the state: its latest value and version, and what a tick needs to send it. */
export interface StateEntry {
  metric: string;
  key: LiveKey;
  /** `metric` + NUL + keyString(key): the entry's identity. */
  id: string;
  value: LiveValue;
  /** Change id for change-log metrics; server time (epoch ms) for the derived ones. */
  version: number;
  /** LIVE sequence of the last change applied (0: from the start-up read). */
  seq: number;
  /** Commit time of the last change (its `at`), epoch ms; 0 when read from Postgres or derived. */
  at: number;
  /** The value before the last change of this tick: a filter on a value field (a station's area) must see it leave. */
  prev: LiveValue | undefined;
  /** The entry as JSON for the current version, made once and shared by every frame that carries it. */
  json: string | null;
}

export const entryJson = (e: StateEntry): string =>
  (e.json ??= `{"metric":${JSON.stringify(e.metric)},"key":${JSON.stringify(e.key)},"value":${JSON.stringify(e.value)},"version":${e.version}}`);

export const entryId = (metric: string, key: LiveKey): string => `${metric}\u0000${keyString(key)}`;

/** A LIVE message kept for resumes. */
export interface RingItem {
  seq: number;
  change: LiveChange;
  /** Size of the message's body: the ring is bounded in bytes too (a relay row may be 256 KB). */
  bytes: number;
}

/** Which keys are kept (day and minute keys only within the screens' windows). */
export type KeepFn = (metric: string, key: LiveKey) => boolean;

/**
 * The gateway's in-memory state: every key of the change log (within the kept windows) and the
 * derived ones, with their versions. Built from a consistent read of Postgres (as of change
 * `base`) and then advanced by LIVE messages in stream order; an entry whose change id is at or
 * below `base` or the key's version is already reflected and is skipped, so re-applying is
 * harmless.
 */
export class LiveState {
  readonly entries = new Map<string, StateEntry>();
  readonly byMetric = new Map<string, Map<string, StateEntry>>();
  /**
   * The day-keyed metrics (esign_day, egov_day) by day as well: "today" and the 30-day window are
   * read from a day's keys, not from every day held (31 days at 130 communes is some 10⁵ keys).
   */
  readonly byDay = new Map<string, Map<string, Map<string, StateEntry>>>();
  /** Entries changed since the last tick. */
  dirty = new Set<StateEntry>();
  /** Metrics that had a change since the last tick. */
  dirtyMetrics = new Set<string>();
  /** Change id the start-up read was consistent with. */
  base = 0;
  /** Last LIVE sequence applied. */
  seq = 0;
  /** Highest change id seen (read or applied). */
  changeId = 0;
  private ring: (RingItem | undefined)[];
  private ringStart = 0; // index of the oldest item
  private ringLength = 0;
  private ringBytes = 0;

  constructor(
    readonly ringSize: number,
    readonly keep: KeepFn,
    /** Most bytes of message bodies the ring holds. Default 64 MiB. */
    readonly ringMaxBytes = 64 * 1024 * 1024,
  ) {
    this.ring = new Array(ringSize);
  }

  /** Replaces the whole state with a read of Postgres as of change `changeId`, stamped with LIVE sequence `seq`. */
  load(read: Map<string, LiveEntry[]>, changeId: number, seq: number): void {
    this.entries.clear();
    this.byMetric.clear();
    this.byDay.clear();
    this.base = changeId;
    this.changeId = changeId;
    this.seq = seq;
    this.ring = new Array(this.ringSize);
    this.ringStart = 0;
    this.ringLength = 0;
    this.ringBytes = 0;
    for (const [metric, list] of read) {
      for (const e of list) {
        if (!this.keep(metric, e.key)) continue;
        this.put(metric, e.key, e.value, changeId, 0, 0, false);
      }
    }
    this.dirty.clear();
    this.dirtyMetrics.clear();
  }

  /** Applies one LIVE message (`bytes`: its body's size); returns the entries it changed. */
  apply(change: LiveChange, seq: number, bytes = 0): number {
    if (seq > this.seq) this.seq = seq;
    if (change.change_id > this.changeId) this.changeId = change.change_id;
    if (this.ringSize > 0) {
      if (this.ringLength === this.ringSize) this.dropOldest();
      const i = (this.ringStart + this.ringLength) % this.ringSize;
      this.ring[i] = { seq, change, bytes };
      this.ringLength++;
      this.ringBytes += bytes;
      while (this.ringBytes > this.ringMaxBytes && this.ringLength > 1) this.dropOldest();
    }
    if (change.change_id <= this.base) return 0;
    const at = Date.parse(change.at) || 0;
    let n = 0;
    for (const e of change.entries) {
      if (!this.keep(change.metric, e.key)) continue;
      if (this.put(change.metric, e.key, e.value, change.change_id, seq, at, true)) n++;
    }
    return n;
  }

  private dropOldest(): void {
    const it = this.ring[this.ringStart]!;
    this.ringBytes -= it.bytes;
    this.ring[this.ringStart] = undefined;
    this.ringStart = (this.ringStart + 1) % this.ringSize;
    this.ringLength--;
  }

  /** Sets a key; false when the version is not newer than the one held. */
  put(metric: string, key: LiveKey, value: LiveValue, version: number, seq: number, at: number, mark: boolean): boolean {
    const id = entryId(metric, key);
    let e = this.entries.get(id);
    if (e) {
      if (version <= e.version) return false;
      if (mark && !this.dirty.has(e)) e.prev = e.value;
      e.value = value;
      e.version = version;
      e.seq = seq;
      e.at = at;
      e.json = null;
    } else {
      e = { metric, key, id, value, version, seq, at, prev: undefined, json: null };
      this.entries.set(id, e);
      let m = this.byMetric.get(metric);
      if (!m) this.byMetric.set(metric, (m = new Map()));
      m.set(id, e);
      if (key.day !== undefined) this.dayMap(metric, key.day, true)!.set(id, e);
    }
    if (mark) {
      this.dirty.add(e);
      this.dirtyMetrics.add(metric);
    }
    return true;
  }

  /** The keys of a day-keyed metric for one UTC+7 day (YYYY-MM-DD). */
  ofDay(metric: string, day: string): Iterable<StateEntry> {
    return this.byDay.get(metric)?.get(day)?.values() ?? [];
  }

  private dayMap(metric: string, day: string, make: boolean): Map<string, StateEntry> | undefined {
    let m = this.byDay.get(metric);
    if (!m) {
      if (!make) return undefined;
      this.byDay.set(metric, (m = new Map()));
    }
    let d = m.get(day);
    if (!d && make) m.set(day, (d = new Map()));
    return d;
  }

  /** Drops the keys `keep` no longer wants (days and minutes that left their window). */
  prune(): number {
    let n = 0;
    for (const [id, e] of this.entries) {
      if (this.keep(e.metric, e.key)) continue;
      this.entries.delete(id);
      this.byMetric.get(e.metric)?.delete(id);
      if (e.key.day !== undefined) {
        const d = this.dayMap(e.metric, e.key.day, false);
        d?.delete(id);
        if (d?.size === 0) this.byDay.get(e.metric)!.delete(e.key.day);
      }
      this.dirty.delete(e);
      n++;
    }
    return n;
  }

  /** Takes the entries changed since the last call (their `prev` holds until they change again). */
  takeDirty(): { entries: StateEntry[]; metrics: Set<string> } {
    const entries = [...this.dirty];
    const metrics = this.dirtyMetrics;
    this.dirty = new Set();
    this.dirtyMetrics = new Set();
    return { entries, metrics };
  }

  /** Oldest sequence the ring holds (Infinity when empty). */
  get ringFirst(): number {
    return this.ringLength === 0 ? Number.POSITIVE_INFINITY : this.ring[this.ringStart]!.seq;
  }

  /** Ring items with seq > `after`, in order; null when the ring does not reach back to after + 1. */
  ringAfter(after: number): RingItem[] | null {
    if (this.ringLength === 0) return after >= this.seq ? [] : null;
    if (this.ringFirst > after + 1) return null;
    const out: RingItem[] = [];
    for (let k = 0; k < this.ringLength; k++) {
      const it = this.ring[(this.ringStart + k) % this.ringSize]!;
      if (it.seq > after) out.push(it);
    }
    return out;
  }
}
