import {
  esignRate,
  feeds,
  freshness,
  ftthCoverage,
  last30DaysStart,
  onlineFullShare,
  onlineShare,
  ontimeRate,
  type EgovDayCounts,
  type Feed,
  type Kpi,
} from "@pulse/contracts";
import { areaMap as seedsAreaMap, calendar, localDay, provinceHouseholds, sources, type AreaMap } from "@pulse/seeds";
import { entryId, type LiveState, type StateEntry } from "./live-state";
import { mapOfDay, type MapOfDay } from "./map-of-day";

export { localDay };

/** Figures of one area, by name: absent = no reading (a dash on screen), never 0 by default. */
export type Fields = Record<string, number>;
type ByArea = Map<string, Fields>;

const add = (f: Fields, name: string, n: number) => (f[name] = (f[name] ?? 0) + n);
const fieldsOf = (m: ByArea, area: string): Fields => {
  let f = m.get(area);
  if (!f) m.set(area, (f = {}));
  return f;
};

/** A `rollup` value: an area's current figures, the day its "today" figures are for, and the carriers that reported there today. */
export interface RollupValue {
  day: string;
  reported: string;
  [field: string]: number | string;
}

export type KpiKey = { kpi: Kpi; area: string; scope?: "former_district" };
export type RollupKey = { scope: string; area: string };
export type DerivedMap<K, V> = Map<string, { key: K; value: V }>;

/**
 * The gateway's current figures (`kpi`, `rollup`), judged on the map in force on the clock's UTC+7
 * day, every time they are computed (at midnight the map moves by itself):
 *
 * - a gauge (subscribers, stations) counts only where its area is in force today; any other is
 *   history, counted in the `retired` roll-up only ("N readings in retired areas");
 * - today's day keys likewise (the province's own code `40` included: provincial agencies);
 * - the 30-day signing rate takes each day's keys as they were accepted (their area was in force
 *   on their own day): the province is the province across the cut-over, and a former district's
 *   30 days join its own district days to its communes' days;
 * - roll-ups: the province is the sum over the units in force, a former district the sum of its
 *   communes; FTTH coverage for the province only (840,932 households is the one sourced
 *   denominator): elsewhere FTTH households are shown without a ratio.
 *
 * What each source metric contributes per area is kept apart and recomputed only when that metric
 * changed (or the day did), so a tick under load reads today's keys, not 31 days of them.
 */
export class DerivedFigures {
  private subs: ByArea | null = null;
  private bts: ByArea | null = null;
  private esignToday: ByArea | null = null;
  private egovToday: ByArea | null = null;
  /** Per day of the 30-day window, signed/exchanged documents by area. */
  private esignDays = new Map<string, ByArea>();
  private day = "";
  private reported = new Map<string, Set<string>>();

  constructor(private readonly map: AreaMap = seedsAreaMap) {}

  /** Forget everything (the state was read again). */
  reset(): void {
    this.subs = this.bts = this.esignToday = this.egovToday = null;
    this.esignDays.clear();
  }

  /** Marks what a tick changed: the metrics, and the days of the esign_day keys. */
  invalidate(metrics: ReadonlySet<string>, dirty: Iterable<StateEntry>): void {
    if (metrics.has("subscribers")) this.subs = null;
    if (metrics.has("bts_stations")) this.bts = null;
    if (metrics.has("egov_day")) this.egovToday = null;
    if (metrics.has("esign_day")) {
      this.esignToday = null;
      for (const e of dirty) if (e.metric === "esign_day" && e.key.day) this.esignDays.delete(e.key.day);
    }
  }

  /** The (area, source) pairs with a subscriber or station reading dated today (read from Postgres). Returns true when they changed. */
  setReported(pairs: readonly { area: string; source: string }[]): boolean {
    const next = new Map<string, Set<string>>();
    for (const p of pairs) {
      let s = next.get(p.area);
      if (!s) next.set(p.area, (s = new Set()));
      s.add(p.source);
    }
    const text = (m: Map<string, Set<string>>) =>
      [...m]
        .map(([a, s]) => `${a}:${[...s].sort().join(",")}`)
        .sort()
        .join(";");
    if (text(next) === text(this.reported)) return false;
    this.reported = next;
    return true;
  }

  /** Computes `kpi` and `rollup` for the UTC+7 day of `now`. */
  compute(state: LiveState, now: number): { kpi: DerivedMap<KpiKey, number | null>; rollup: DerivedMap<RollupKey, RollupValue | Fields> } {
    const today = mapOfDay(this.map, now);
    if (today.day !== this.day) {
      this.day = today.day;
      this.esignToday = this.egovToday = null;
    }
    this.subs ??= subscribersByArea(state);
    this.bts ??= stationsByArea(state);
    this.esignToday ??= esignByArea(state.ofDay("esign_day", today.day));
    this.egovToday ??= egovByArea(state.ofDay("egov_day", today.day));
    const from30 = localDay(last30DaysStart(now));
    for (const d of this.esignDays.keys()) if (d < from30 || d > today.day) this.esignDays.delete(d);
    for (let t = last30DaysStart(now), d = localDay(t); d <= today.day; t += 86_400_000, d = localDay(t))
      if (!this.esignDays.has(d)) this.esignDays.set(d, esignByArea(state.ofDay("esign_day", d)));

    // --- roll-ups of today's map -----------------------------------------------------------
    const province = today.province.code;
    const buckets = new Map<string, { key: RollupKey; f: Fields; reported: Set<string> }>();
    const bucket = (scope: string, area: string) => {
      const id = `${scope}|${area}`;
      let b = buckets.get(id);
      if (!b) buckets.set(id, (b = { key: { scope, area }, f: {}, reported: new Set() }));
      return b;
    };
    const provinceBucket = bucket("province", province);
    for (const leaf of today.leaves.values()) bucket(leaf.level, leaf.code);
    const formers = new Set<string>();
    for (const { district } of today.formerDistricts) {
      formers.add(district.code);
      bucket("former_district", district.code);
    }
    /** The buckets a current key of `area` counts in; null when the area is not in force today. */
    const targets = (area: string) => {
      if (area === province) return [provinceBucket];
      const leaf = today.leaves.get(area);
      if (!leaf) return null;
      const out = [bucket(leaf.level, area), provinceBucket];
      const fd = today.formerOf(area);
      if (fd && formers.has(fd)) out.push(bucket("former_district", fd));
      return out;
    };
    const retired: Fields = { readings: 0, subscribers: 0, bts_stations: 0, esign: 0, egov: 0 };
    const merge = (part: ByArea, what: string, readings: (f: Fields) => number) => {
      for (const [area, f] of part) {
        const to = targets(area);
        if (!to) {
          const n = readings(f);
          retired[what]! += n;
          retired.readings! += n;
          continue;
        }
        for (const b of to) for (const k in f) if (k[0] !== "#") add(b.f, k, f[k]!);
      }
    };
    merge(this.subs, "subscribers", (f) => f["#readings"] ?? 0);
    merge(this.bts, "bts_stations", (f) => f["#stations"] ?? 0);
    merge(this.esignToday, "esign", (f) => f.esign ?? 0);
    merge(this.egovToday, "egov", (f) => f["#steps"] ?? 0);
    for (const [area, carriers] of this.reported) for (const b of targets(area) ?? []) for (const c of carriers) b.reported.add(c);

    // The 30-day signing rate: each day's keys where they were accepted (see above).
    const esign30 = new Map<string, { signed: number; exchanged: number }>();
    const add30 = (id: string, f: Fields) => {
      let c = esign30.get(id);
      if (!c) esign30.set(id, (c = { signed: 0, exchanged: 0 }));
      c.signed += f.esign_signed ?? 0;
      c.exchanged += f.esign ?? 0;
    };
    for (const part of this.esignDays.values()) {
      for (const [area, f] of part) {
        add30(`province|${province}`, f);
        if (area === province) continue;
        const leaf = today.leaves.get(area);
        if (leaf) add30(`${leaf.level}|${area}`, f);
        const fd = today.formerOf(area);
        if (fd && formers.has(fd)) add30(`former_district|${fd}`, f);
      }
    }

    const kpi: DerivedMap<KpiKey, number | null> = new Map();
    const rollup: DerivedMap<RollupKey, RollupValue | Fields> = new Map();
    for (const [id, b] of buckets) {
      rollup.set(id, { key: b.key, value: { ...b.f, day: today.day, reported: [...b.reported].sort().join(",") } });
      const key = (k: Kpi): KpiKey =>
        b.key.scope === "former_district" ? { kpi: k, area: b.key.area, scope: "former_district" } : { kpi: k, area: b.key.area };
      const put = (k: Kpi, value: number | null) => kpi.set(`${k}|${b.key.scope}|${b.key.area}`, { key: key(k), value });
      const f = b.f;
      const egov: EgovDayCounts = {
        received: {
          online_full: f["received.online_full"] ?? 0,
          online_partial: f["received.online_partial"] ?? 0,
          in_person: f["received.in_person"] ?? 0,
        },
        resolvedOnTime: f.on_time ?? 0,
        resolvedLate: f.late ?? 0,
      };
      put("esign_rate", esignRate({ signed: f.esign_signed ?? 0, exchanged: f.esign ?? 0 }));
      put("esign_rate_30d", esignRate(esign30.get(id) ?? { signed: 0, exchanged: 0 }));
      put("online_share", onlineShare(egov));
      put("online_full_share", onlineFullShare(egov));
      put("ontime_rate", ontimeRate(egov));
      if (b === provinceBucket) put("ftth_coverage", ftthCoverage(f.ftth ?? 0, provinceHouseholds));
    }
    rollup.set(`retired|${province}`, { key: { scope: "retired", area: province }, value: retired });
    return { kpi, rollup };
  }
}

/** Subscribers by area: per service, per service and carrier (`mobile.viettel`), and the readings (`#readings`). */
function subscribersByArea(state: LiveState): ByArea {
  const out: ByArea = new Map();
  for (const e of state.byMetric.get("subscribers")?.values() ?? []) {
    if (typeof e.value !== "number" || !e.key.area || !e.key.service) continue;
    const f = fieldsOf(out, e.key.area);
    add(f, e.key.service, e.value);
    add(f, `${e.key.service}.${e.key.source}`, e.value);
    add(f, "#readings", 1);
  }
  return out;
}

/** Stations by area: `bts` (on air, degraded or down), by status, by tech and status (`bts.4G.down`); removed ones left out. */
function stationsByArea(state: LiveState): ByArea {
  const out: ByArea = new Map();
  for (const e of state.byMetric.get("bts_stations")?.values() ?? []) {
    const { area, status, tech } = e.key;
    if (typeof e.value !== "number" || !area || status === "removed") continue;
    const f = fieldsOf(out, area);
    add(f, "bts", e.value);
    add(f, `bts_${status}`, e.value);
    add(f, `bts.${tech}.${status}`, e.value);
    add(f, "#stations", e.value);
  }
  return out;
}

function esignByArea(entries: Iterable<StateEntry>): ByArea {
  const out: ByArea = new Map();
  for (const e of entries) {
    if (typeof e.value !== "number" || e.value === 0 || !e.key.area) continue;
    const f = fieldsOf(out, e.key.area);
    add(f, "esign", e.value);
    if (e.key.signed === "true") add(f, "esign_signed", e.value);
  }
  return out;
}

function egovByArea(entries: Iterable<StateEntry>): ByArea {
  const out: ByArea = new Map();
  for (const e of entries) {
    if (typeof e.value !== "number" || e.value === 0 || !e.key.area) continue;
    const f = fieldsOf(out, e.key.area);
    add(f, "#steps", e.value);
    const { status, channel } = e.key;
    if (status === "received") {
      add(f, "received", e.value);
      add(f, `received.${channel}`, e.value);
    } else if (status === "resolved_on_time") add(f, "on_time", e.value);
    else if (status === "resolved_late") add(f, "late", e.value);
    else if (status === "rejected") add(f, "rejected", e.value);
  }
  return out;
}

/** The map in force for the clock's day (for /config.json's hash and heartbeats). */
export const todaysMap = (now: number, map: AreaMap = seedsAreaMap): MapOfDay => mapOfDay(map, now);

/** Every (source, feed) seeds know, with its cadence and calendar. */
export const feedSpecs = sources.flatMap((s) =>
  Object.entries(s.feeds)
    .filter(([f]) => (feeds as readonly string[]).includes(f))
    .map(([feed, spec]) => ({ source: s.id, feed: feed as Feed, cadenceS: spec!.cadence_s, officeHours: s.office_hours })),
);

export interface FreshnessValue {
  state: string;
  last_received_at: string | null;
  cadence_s: number;
  [k: string]: string | number | null;
}

/**
 * The `freshness` topic: contracts' `freshness()` of each (source, feed) now, from the `feed`
 * keys' receipt times and the feeds ingest is behind on. It changes with time passing, so it is
 * judged on a timer, not only when a `feed` key changes.
 */
export function computeFreshness(
  state: LiveState,
  now: number,
  behind: ReadonlySet<string>,
): Map<string, { key: { source: string; feed: string }; value: FreshnessValue }> {
  const out = new Map<string, { key: { source: string; feed: string }; value: FreshnessValue }>();
  for (const spec of feedSpecs) {
    const key = { source: spec.source, feed: spec.feed };
    const e = state.entries.get(entryId("feed", key));
    const v = e?.value;
    const last = v && typeof v === "object" && typeof v.last_received_at === "string" ? v.last_received_at : null;
    const s = freshness({
      now,
      lastReceivedAt: last === null ? null : Date.parse(last),
      cadenceS: spec.cadenceS,
      officeHours: spec.officeHours,
      calendar,
      pipelineBehind: behind.has(spec.feed),
    });
    out.set(`${spec.source}|${spec.feed}`, { key, value: { state: s, last_received_at: last, cadence_s: spec.cadenceS } });
  }
  return out;
}
