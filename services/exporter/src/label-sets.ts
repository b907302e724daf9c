import {
  btsStatuses,
  channels,
  egovStatuses,
  feedStates,
  kpis,
  levels,
  otherLabel,
  reasonCodes,
  services,
  techs,
  type Feed,
} from "@pulse/contracts";
import { agencyMap, areaMap, calendar, dayNumber, retiredLevels, sources, type AgencyMap, type AreaMap, type Calendar } from "@pulse/seeds";

export interface FeedSpec {
  source: string;
  feed: Feed;
  cadenceS: number;
  officeHours: boolean;
  calendar: Calendar;
}

/**
 * The known label values, from contracts' vocabularies and seeds. Anything else folds into `other`.
 * Areas, agencies and levels are dated: `daySets` gives the ones in force on a day.
 */
export interface LabelSets {
  subscriberSources: readonly string[];
  btsSources: readonly string[];
  esignSources: readonly string[];
  egovSources: readonly string[];
  services: readonly string[];
  techs: readonly string[];
  btsStatuses: readonly string[];
  channels: readonly string[];
  egovStatuses: readonly string[];
  reasons: readonly string[];
  feedStates: readonly string[];
  kpis: readonly string[];
  feeds: readonly FeedSpec[];
  areaMap: AreaMap;
  agencyMap: AgencyMap;
  /** Every level of government (contracts' vocabulary); the ones ended are dropped per day. */
  levels: readonly string[];
  /** Levels that ended: from the day after `grace_to` they are no longer zero-filled. */
  retiredLevels: Readonly<Record<string, { valid_to: string; grace_to: string }>>;
}

/** One day's dated label values. */
export interface DaySets {
  /** UTC+7 day number. */
  day: number;
  /** Codes of the lowest-level areas in force that day (districts before 2025-07-01, communes after). */
  areas: readonly string[];
  areaSet: ReadonlySet<string>;
  /** `pulse_area_info` labels, one per area: a district before the cut-over is its own former district. */
  areaInfo: readonly { area: string; former_district: string; name_vi: string }[];
  /** Seeded agencies in force that day, then `other` (zero-filled too: one bounded series per label set). */
  agencies: readonly string[];
  /** Levels still named that day (an ended level until its grace day, for steps of older dossiers). */
  levels: readonly string[];
}

const sourcesOf = (feed: Feed) => sources.filter((s) => s.feeds[feed] !== undefined).map((s) => s.id);

/** Label sets built from seeds once at start. */
export function seededLabelSets(): LabelSets {
  return Object.freeze({
    subscriberSources: sourcesOf("subscribers"),
    btsSources: sourcesOf("bts"),
    esignSources: sourcesOf("esign"),
    egovSources: sourcesOf("egov"),
    services,
    techs,
    btsStatuses,
    channels,
    egovStatuses,
    reasons: [...reasonCodes, otherLabel],
    feedStates,
    kpis,
    feeds: sources.flatMap((s) =>
      Object.entries(s.feeds).map(([feed, f]) => ({
        source: s.id,
        feed: feed as Feed,
        cadenceS: f!.cadence_s,
        officeHours: s.office_hours,
        calendar,
      })),
    ),
    areaMap,
    agencyMap,
    levels,
    retiredLevels,
  });
}

const dayCache = new WeakMap<LabelSets, DaySets>();

/**
 * The dated label values in force on UTC+7 day number `day`. Asked on every read with the
 * exporter's own clock, so at midnight UTC+7 the label set moves to the next map by itself; the
 * last day's answer is kept (one map a day, computed once).
 */
export function daySets(sets: LabelSets, day: number): DaySets {
  const hit = dayCache.get(sets);
  if (hit?.day === day) return hit;
  const leaves = sets.areaMap.leavesOn(day);
  const out: DaySets = Object.freeze({
    day,
    areas: leaves.map((a) => a.code),
    areaSet: new Set(leaves.map((a) => a.code)),
    areaInfo: leaves.map((a) => ({ area: a.code, former_district: a.former_district ?? a.code, name_vi: a.name_vi })),
    agencies: [...sets.agencyMap.inForce(day).map((a) => a.id), otherLabel],
    levels: sets.levels.filter((l) => {
      const ended = sets.retiredLevels[l];
      return ended === undefined || day <= dayNumber(ended.grace_to);
    }),
  });
  dayCache.set(sets, out);
  return out;
}
