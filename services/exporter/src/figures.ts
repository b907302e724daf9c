import {
  esignRate,
  freshness,
  ftthCoverage,
  last30DaysStart,
  onlineFullShare,
  onlineShare,
  ontimeRate,
  otherLabel,
  todayStart,
  type EgovDayCounts,
  type Feed,
  type FeedState,
} from "@pulse/contracts";
import { provinceHouseholds } from "@pulse/seeds";
import { localDayNumber } from "@pulse/seeds";
import { daySets, type LabelSets } from "./label-sets";
import type { FigureRows } from "./sql/read-figures";

export type Labels = Record<string, string>;
/** One metric's series: a stable key → labels and value. */
export type Series = Map<string, { labels: Labels; value: number }>;

export interface Figures {
  subscribers: Series;
  btsStations: Series;
  areaInfo: Series;
  retiredAreaReadings: Series;
  esignToday: Series;
  egovToday: Series;
  kpi: Series;
  feedLastReceived: Series;
  feedState: Series;
  deadLettersStored: Series;
  /** Distinct unknown values folded into `other`, keyed "metric|label". */
  folded: Map<string, Set<string>>;
}

const keyOf = (labels: Labels) => Object.values(labels).join("\u0001");

/** Every combination of the given label values, in order. */
function product(dims: [string, readonly string[]][]): Labels[] {
  let out: Labels[] = [{}];
  for (const [name, values] of dims) out = out.flatMap((l) => values.map((v) => ({ ...l, [name]: v })));
  return out;
}

function zeroFilled(dims: [string, readonly string[]][]): Series {
  const s: Series = new Map();
  for (const labels of product(dims)) s.set(keyOf(labels), { labels, value: 0 });
  return s;
}

const templates = new WeakMap<LabelSets, { day: number; figures: Figures }>();

/**
 * The label sets every scrape shows on the UTC+7 day of `now`, all at zero: areas, agencies and
 * levels are the ones in force that day, so at midnight the label set moves by itself. Built once
 * a day and copied per read (the labels objects are shared and never changed).
 */
export function emptyFigures(sets: LabelSets, now: number): Figures {
  const dayNo = localDayNumber(now);
  let t = templates.get(sets);
  if (t?.day !== dayNo) templates.set(sets, (t = { day: dayNo, figures: buildEmpty(sets, dayNo) }));
  const copy = (s: Series): Series => {
    const out: Series = new Map();
    for (const [k, v] of s) out.set(k, { labels: v.labels, value: v.value });
    return out;
  };
  const f = t.figures;
  return {
    subscribers: copy(f.subscribers),
    btsStations: copy(f.btsStations),
    areaInfo: copy(f.areaInfo),
    retiredAreaReadings: copy(f.retiredAreaReadings),
    esignToday: copy(f.esignToday),
    egovToday: copy(f.egovToday),
    kpi: copy(f.kpi),
    feedLastReceived: copy(f.feedLastReceived),
    feedState: copy(f.feedState),
    deadLettersStored: copy(f.deadLettersStored),
    folded: new Map(),
  };
}

function buildEmpty(sets: LabelSets, dayNo: number): Figures {
  const day = daySets(sets, dayNo);
  const feedPairs = (states: boolean) =>
    sets.feeds.flatMap((f) =>
      states ? sets.feedStates.map((state) => ({ source: f.source, feed: f.feed, state })) : [{ source: f.source, feed: f.feed }],
    );
  const fromList = (list: Labels[]): Series => new Map(list.map((labels) => [keyOf(labels), { labels, value: 0 }]));
  return {
    subscribers: zeroFilled([
      ["source", sets.subscriberSources],
      ["service", sets.services],
      ["area", day.areas],
    ]),
    btsStations: zeroFilled([
      ["source", sets.btsSources],
      ["tech", sets.techs],
      ["area", day.areas],
      ["status", sets.btsStatuses],
    ]),
    areaInfo: new Map(day.areaInfo.map((labels) => [labels.area, { labels, value: 1 }])),
    retiredAreaReadings: fromList([{ feed: "subscribers" }, { feed: "bts" }]),
    esignToday: zeroFilled([
      ["source", sets.esignSources],
      ["agency", day.agencies],
      ["signed", ["true", "false"]],
    ]),
    egovToday: zeroFilled([
      ["source", sets.egovSources],
      ["agency", day.agencies],
      ["level", day.levels],
      ["channel", sets.channels],
      ["status", sets.egovStatuses],
    ]),
    kpi: new Map(sets.kpis.map((kpi) => [kpi, { labels: { kpi }, value: Number.NaN }])),
    feedLastReceived: fromList(feedPairs(false)),
    feedState: fromList(feedPairs(true)),
    deadLettersStored: zeroFilled([["reason", sets.reasons]]),
    folded: new Map(),
  };
}

/**
 * Turns the rows of the tables into series. Pure: `now` decides today (the map in force, the day
 * buckets, freshness), `behind` says which feeds' consumers are behind. Values outside the known
 * sets add into `other` and are noted in `folded`, so cardinality never grows with bad data. A
 * gauge or station whose area is not in force today is history: it is left out of every series
 * and of the province's FTTH coverage, and only counted in `retiredAreaReadings`.
 */
export function buildFigures(sets: LabelSets, rows: FigureRows, now: number, behind: ReadonlySet<Feed>): Figures {
  const f = emptyFigures(sets, now);
  const day = daySets(sets, localDayNumber(now));
  const current = (feed: "subscribers" | "bts", area: string, n: number): boolean => {
    if (day.areaSet.has(area)) return true;
    f.retiredAreaReadings.get(feed)!.value += n;
    return false;
  };
  const known = new Map<readonly string[], Set<string>>();
  const fold = (metric: string, label: string, value: string, allowed: readonly string[]): string => {
    let set = known.get(allowed);
    if (!set) known.set(allowed, (set = new Set(allowed)));
    if (set.has(value) && value !== otherLabel) return value;
    if (value === otherLabel && set.has(otherLabel)) return value;
    const k = `${metric}|${label}`;
    if (!f.folded.has(k)) f.folded.set(k, new Set());
    f.folded.get(k)!.add(value);
    return otherLabel;
  };
  const add = (s: Series, labels: Labels, n: number) => {
    const k = keyOf(labels);
    const cur = s.get(k);
    if (cur) cur.value += n;
    else s.set(k, { labels, value: n });
  };

  let ftth = 0;
  for (const r of rows.subscribers) {
    if (!current("subscribers", r.area, 1)) continue;
    if (r.service === "ftth") ftth += r.count;
    add(
      f.subscribers,
      {
        source: fold("subscribers", "source", r.source, sets.subscriberSources),
        service: fold("subscribers", "service", r.service, sets.services),
        area: r.area,
      },
      r.count,
    );
  }
  for (const r of rows.bts) {
    if (!current("bts", r.area, r.count)) continue;
    add(
      f.btsStations,
      {
        source: fold("bts_stations", "source", r.source, sets.btsSources),
        tech: fold("bts_stations", "tech", r.tech, sets.techs),
        area: r.area,
        status: fold("bts_stations", "status", r.status, sets.btsStatuses),
      },
      r.count,
    );
  }
  const esign = { today: { signed: 0, exchanged: 0 }, last30: { signed: 0, exchanged: 0 } };
  for (const r of rows.esign) {
    esign.today.exchanged += r.today;
    esign.last30.exchanged += r.last30;
    if (r.signed) {
      esign.today.signed += r.today;
      esign.last30.signed += r.last30;
    }
    add(
      f.esignToday,
      {
        source: fold("esign_documents_today", "source", r.source, sets.esignSources),
        agency: fold("esign_documents_today", "agency", r.agency, day.agencies),
        signed: String(r.signed),
      },
      r.today,
    );
  }
  const egov: EgovDayCounts = { received: { online_full: 0, online_partial: 0, in_person: 0 }, resolvedOnTime: 0, resolvedLate: 0 };
  for (const r of rows.egov) {
    if (r.status === "received" && r.channel in egov.received) egov.received[r.channel as keyof EgovDayCounts["received"]] += r.count;
    if (r.status === "resolved_on_time") egov.resolvedOnTime += r.count;
    if (r.status === "resolved_late") egov.resolvedLate += r.count;
    add(
      f.egovToday,
      {
        source: fold("egov_submissions_today", "source", r.source, sets.egovSources),
        agency: fold("egov_submissions_today", "agency", r.agency, day.agencies),
        level: fold("egov_submissions_today", "level", r.level, day.levels),
        channel: fold("egov_submissions_today", "channel", r.channel, sets.channels),
        status: fold("egov_submissions_today", "status", r.status, sets.egovStatuses),
      },
      r.count,
    );
  }
  const kpi = (name: string, v: number | null) => f.kpi.set(name, { labels: { kpi: name }, value: v ?? Number.NaN });
  kpi("esign_rate", esignRate(esign.today));
  kpi("esign_rate_30d", esignRate(esign.last30));
  kpi("online_share", onlineShare(egov));
  kpi("online_full_share", onlineFullShare(egov));
  kpi("ontime_rate", ontimeRate(egov));
  kpi("ftth_coverage", ftthCoverage(ftth, provinceHouseholds));

  const received = new Map(rows.feeds.map((r) => [`${r.source}|${r.feed}`, r.last_received_at.getTime()]));
  for (const spec of sets.feeds) {
    const last = received.get(`${spec.source}|${spec.feed}`) ?? null;
    received.delete(`${spec.source}|${spec.feed}`);
    add(f.feedLastReceived, { source: spec.source, feed: spec.feed }, last === null ? 0 : last / 1000);
    const state: FeedState = freshness({
      now,
      lastReceivedAt: last,
      cadenceS: spec.cadenceS,
      officeHours: spec.officeHours,
      calendar: spec.calendar,
      pipelineBehind: behind.has(spec.feed),
    });
    for (const s of sets.feedStates) add(f.feedState, { source: spec.source, feed: spec.feed, state: s }, s === state ? 1 : 0);
  }
  // A (source, feed) that seeds do not know has no cadence to be judged by: noted, not shown.
  for (const k of received.keys()) {
    if (!f.folded.has("feed|source_feed")) f.folded.set("feed|source_feed", new Set());
    f.folded.get("feed|source_feed")!.add(k);
  }
  for (const r of rows.deadLetters)
    add(f.deadLettersStored, { reason: fold("dead_letters_stored", "reason", r.reason, sets.reasons) }, r.count);
  return f;
}

/** Today's and the 30-day window's first day buckets, as Dates for the queries. */
export const dayWindow = (now: number) => ({ today: new Date(todayStart(now)), from30: new Date(last30DaysStart(now)) });
