import {
  esignRate,
  feeds,
  freshness,
  ftthCoverage,
  last30DaysStart,
  localDayStart,
  onlineFullShare,
  onlineShare,
  ontimeRate,
  utc7OffsetMs,
  type EgovDayCounts,
  type Feed,
  type Kpi,
} from "@pulse/contracts";
import { calendar, districts, provinceCode, provinceHouseholds, sources } from "@pulse/seeds";
import { entryId, type LiveState } from "./live-state";

/** The local (UTC+7) date of `ms`, YYYY-MM-DD: the form the day keys carry. */
export const localDay = (ms: number): string => new Date(localDayStart(ms) + utc7OffsetMs).toISOString().slice(0, 10);

const areaCodes = [provinceCode, ...districts.map((d) => d.code)];
const householdsOf = new Map<string, number>([
  [provinceCode, provinceHouseholds],
  ...districts.map((d) => [d.code, d.households ?? 0] as const),
]);

interface Counts {
  esignToday: { signed: number; exchanged: number };
  esign30: { signed: number; exchanged: number };
  egov: EgovDayCounts;
  ftth: number;
}
const emptyCounts = (): Counts => ({
  esignToday: { signed: 0, exchanged: 0 },
  esign30: { signed: 0, exchanged: 0 },
  egov: { received: { online_full: 0, online_partial: 0, in_person: 0 }, resolvedOnTime: 0, resolvedLate: 0 },
  ftth: 0,
});

/**
 * The `kpi` topic: each KPI of contracts' formulas, today (UTC+7), province-wide (area "40":
 * every area summed, the provincial agencies' own "40" rows included) and per district. Computed
 * from the state's day and subscriber keys; value the ratio 0–1 or null (no denominator).
 */
export function computeKpis(state: LiveState, now: number): Map<string, { key: { kpi: Kpi; area: string }; value: number | null }> {
  const today = localDay(now);
  const from30 = localDay(last30DaysStart(now));
  const by = new Map<string, Counts>(areaCodes.map((a) => [a, emptyCounts()]));
  const both = (area: string, f: (c: Counts) => void) => {
    f(by.get(provinceCode)!);
    if (area !== provinceCode) {
      const c = by.get(area);
      if (c) f(c);
    }
  };
  for (const e of state.byMetric.get("esign_day")?.values() ?? []) {
    const n = typeof e.value === "number" ? e.value : 0;
    const day = e.key.day!;
    if (n === 0 || day < from30 || day > today) continue;
    const signed = e.key.signed === "true";
    both(e.key.area!, (c) => {
      c.esign30.exchanged += n;
      if (signed) c.esign30.signed += n;
      if (day === today) {
        c.esignToday.exchanged += n;
        if (signed) c.esignToday.signed += n;
      }
    });
  }
  for (const e of state.byMetric.get("egov_day")?.values() ?? []) {
    const n = typeof e.value === "number" ? e.value : 0;
    if (n === 0 || e.key.day !== today) continue;
    const { status, channel } = e.key;
    both(e.key.area!, (c) => {
      if (status === "received" && channel! in c.egov.received) c.egov.received[channel as keyof EgovDayCounts["received"]] += n;
      if (status === "resolved_on_time") c.egov.resolvedOnTime += n;
      if (status === "resolved_late") c.egov.resolvedLate += n;
    });
  }
  for (const e of state.byMetric.get("subscribers")?.values() ?? []) {
    if (e.key.service !== "ftth" || typeof e.value !== "number") continue;
    const n = e.value;
    both(e.key.area!, (c) => (c.ftth += n));
  }
  const out = new Map<string, { key: { kpi: Kpi; area: string }; value: number | null }>();
  for (const [area, c] of by) {
    const put = (kpi: Kpi, value: number | null) => out.set(`${kpi}|${area}`, { key: { kpi, area }, value });
    put("esign_rate", esignRate(c.esignToday));
    put("esign_rate_30d", esignRate(c.esign30));
    put("online_share", onlineShare(c.egov));
    put("online_full_share", onlineFullShare(c.egov));
    put("ontime_rate", ontimeRate(c.egov));
    put("ftth_coverage", ftthCoverage(c.ftth, householdsOf.get(area) ?? 0));
  }
  return out;
}

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
