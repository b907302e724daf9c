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
import { agencies, calendar, districts, sources, type Calendar } from "@pulse/seeds";

export interface FeedSpec {
  source: string;
  feed: Feed;
  cadenceS: number;
  officeHours: boolean;
  calendar: Calendar;
}

/** The known label values, from contracts' vocabularies and seeds. Anything else folds into `other`. */
export interface LabelSets {
  subscriberSources: readonly string[];
  btsSources: readonly string[];
  esignSources: readonly string[];
  egovSources: readonly string[];
  districts: readonly string[];
  /** Seeded agencies, then `other` (zero-filled too: it is one bounded series per label set). */
  agencies: readonly string[];
  services: readonly string[];
  techs: readonly string[];
  btsStatuses: readonly string[];
  levels: readonly string[];
  channels: readonly string[];
  egovStatuses: readonly string[];
  reasons: readonly string[];
  feedStates: readonly string[];
  kpis: readonly string[];
  feeds: readonly FeedSpec[];
}

const sourcesOf = (feed: Feed) => sources.filter((s) => s.feeds[feed] !== undefined).map((s) => s.id);

/** Label sets built from seeds once at start. */
export function seededLabelSets(): LabelSets {
  return Object.freeze({
    subscriberSources: sourcesOf("subscribers"),
    btsSources: sourcesOf("bts"),
    esignSources: sourcesOf("esign"),
    egovSources: sourcesOf("egov"),
    districts: districts.map((d) => d.code),
    agencies: [...agencies.map((a) => a.id), otherLabel],
    services,
    techs,
    btsStatuses,
    levels,
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
  });
}
