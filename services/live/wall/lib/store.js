/**
 * The wall's copy of the live figures: per metric, per key, the value of the highest version
 * seen. A duplicate or a reordered delta is harmless (a lower or equal version changes nothing).
 * A removal (value null) is kept as a tombstone with its version, so an older delta arriving
 * after it cannot bring the key back; the key space is bounded by what the province has (areas,
 * carriers, stations), and the time-keyed metrics (days, minutes) are pruned by `prune()`.
 *
 * A reset snapshot is applied by building a new store and swapping it in whole (`fromEntries`):
 * the page never shows a state half old, half new.
 */

/**
 * A stable text form of a key: fields sorted, as contracts' `keyString` writes it.
 * @param {Record<string, string>} key
 */
export function keyString(key) {
  return Object.keys(key)
    .sort()
    .map((k) => `${k}=${key[k]}`)
    .join("|");
}

/**
 * @typedef {{ metric: string, key: Record<string, string>, value: unknown, version: number }} Entry
 * @typedef {{ key: Record<string, string>, value: unknown, version: number }} Held
 */

export class LiveStore {
  constructor() {
    /** @type {Map<string, Map<string, Held>>} */
    this.metrics = new Map();
  }

  /**
   * A store holding exactly `entries` (a snapshot), built aside and returned whole.
   * @param {Iterable<Entry>} entries
   */
  static fromEntries(entries) {
    const s = new LiveStore();
    s.apply(entries);
    return s;
  }

  /**
   * Replaces everything held for `metrics` with `entries` (a subscription's snapshot), in one
   * step: the new maps are filled aside and swapped in, so no render sees a mix of the two.
   * @param {Iterable<string>} metrics
   * @param {Iterable<Entry>} entries
   */
  replaceMetrics(metrics, entries) {
    const list = new Set(metrics);
    /** @type {Entry[]} */
    const mine = [];
    /** @type {Entry[]} */
    const others = [];
    for (const e of entries) (e && list.has(e.metric) ? mine : others).push(e);
    const fresh = LiveStore.fromEntries(mine);
    for (const m of list) this.metrics.set(m, fresh.metrics.get(m) ?? new Map());
    // A topic outside the subscription (never expected) is merged by version, not replaced.
    this.apply(others);
  }

  /**
   * Applies entries; returns the set of metrics in which some key really changed.
   * @param {Iterable<Entry>} entries
   * @returns {Set<string>}
   */
  apply(entries) {
    /** @type {Set<string>} */
    const changed = new Set();
    for (const e of entries) {
      if (!e || typeof e.metric !== "string" || !e.key || typeof e.key !== "object") continue;
      const version = Number(e.version);
      if (!Number.isFinite(version)) continue;
      let m = this.metrics.get(e.metric);
      if (!m) this.metrics.set(e.metric, (m = new Map()));
      const k = keyString(e.key);
      const held = m.get(k);
      if (held && held.version >= version) continue;
      m.set(k, { key: e.key, value: e.value ?? null, version });
      changed.add(e.metric);
    }
    return changed;
  }

  /**
   * The held keys of one metric (tombstones included: their value is null).
   * @param {string} metric
   * @returns {Iterable<Held>}
   */
  entries(metric) {
    return this.metrics.get(metric)?.values() ?? [];
  }

  /**
   * The value of one key, or undefined when none is held.
   * @param {string} metric
   * @param {Record<string, string>} key
   */
  get(metric, key) {
    return this.metrics.get(metric)?.get(keyString(key))?.value;
  }

  /**
   * Keeps the values of `metric` but forgets their versions, so the next value of each key is
   * taken whatever its version. For the derived topics after a resume on another gateway: their
   * versions are that gateway's clock, which need not agree with the previous one's.
   * @param {string} metric
   */
  forgetVersions(metric) {
    for (const held of this.metrics.get(metric)?.values() ?? []) held.version = Number.NEGATIVE_INFINITY;
  }

  /** Number of keys held, all metrics. */
  get size() {
    let n = 0;
    for (const m of this.metrics.values()) n += m.size;
    return n;
  }

  /**
   * Drops the keys of `metric` for which `drop(key)` is true; returns how many.
   * @param {string} metric
   * @param {(key: Record<string, string>) => boolean} drop
   */
  prune(metric, drop) {
    const m = this.metrics.get(metric);
    if (!m) return 0;
    let n = 0;
    for (const [k, held] of m) {
      if (drop(held.key)) {
        m.delete(k);
        n++;
      }
    }
    return n;
  }
}

/**
 * Prunes what only grows with time: day buckets before yesterday and minutes older than
 * `keepMinutes` (the sparkline's hour and a margin). Returns the number of keys dropped.
 * @param {LiveStore} store
 * @param {{ today: string, yesterday: string, nowMs: number, keepMinutes?: number }} when
 */
export function pruneOld(store, { today, yesterday, nowMs, keepMinutes = 75 }) {
  // YYYY-MM-DD compares as text; a day ahead of the server's (never expected) is kept.
  const oldDay = (/** @type {Record<string, string>} */ k) => typeof k.day !== "string" || (k.day < yesterday && k.day !== today);
  const cutoff = nowMs - keepMinutes * 60_000;
  const oldMinute = (/** @type {Record<string, string>} */ k) => {
    const t = Date.parse(k.minute ?? "");
    return !Number.isFinite(t) || t < cutoff;
  };
  return store.prune("esign_day", oldDay) + store.prune("egov_day", oldDay) + store.prune("egov_minute", oldMinute);
}
