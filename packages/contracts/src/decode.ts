import Validator from "fastest-validator";
import { agencyMap, areaMap, dayNumber, localDay, localDayNumber, provinceCode, retiredLevels, sources, type Area } from "@pulse/seeds";
import { boundedMemo } from "./bounded-memo";
import type { FeedEvent } from "./envelope";
import { btsStatuses, channels, egovStatuses, levels, maxCount, maxStringLength, services, signers, techs } from "./feeds";
import type { Reason } from "./reasons";
import { feeds, parseFeedSubject, type Feed } from "./subjects";
import { findIllFormedString } from "./well-formed";

/** What `decode` returns: never throws, whatever the bytes. */
export type DecodeResult =
  { ok: true; value: FeedEvent } | { ok: false; reason: Reason; detail: string; id: string | null; revision: number | null };

export interface DecodeInput {
  subject: string;
  payload: Uint8Array;
  /** The broker's receipt time of the message (epoch ms): the same on every redelivery. */
  receivedMs: number;
}

export interface DecodeOptions {
  /** Largest payload in bytes. Default 65,536. */
  maxBytes?: number;
  /** How far past the broker's receipt time `ts` may lie, in ms. Default 300,000 (5 minutes). */
  maxFutureMs?: number;
}

// Printable text only: Postgres jsonb refuses \u0000 and control characters spoil logs and labels.
const printable = /^[^\u0000-\u001f\u007f]+$/;

const printableText = { type: "string", min: 1, max: maxStringLength, pattern: printable } as const;
// The same without the pattern, for payloads whose text holds no backslash and no DEL: JSON forbids
// a raw control character inside a string, so only an escape could put one there, and the pattern
// cannot fail. (fastest-validator writes the pattern as a literal into its checking function, so
// every call made a new RegExp per text field: a visible share of ingest's garbage.)
const anyText = { type: "string", min: 1, max: maxStringLength } as const;

const dataSchemas = (text: typeof printableText | typeof anyText): Record<Feed, object> => ({
  subscribers: {
    $$type: "object",
    service: { type: "enum", values: services },
    count: { type: "number", integer: true, min: 0, max: maxCount },
  },
  bts: {
    $$type: "object",
    station: text,
    tech: { type: "enum", values: techs },
    status: { type: "enum", values: btsStatuses },
  },
  esign: {
    $$type: "object",
    agency: text,
    doc: text,
    signed: { type: "boolean" },
    signer: { type: "enum", values: signers },
  },
  egov: {
    $$type: "object",
    procedure: text,
    agency: text,
    level: { type: "enum", values: levels },
    channel: { type: "enum", values: channels },
    status: { type: "enum", values: egovStatuses },
  },
});

const validator = new Validator({ haltOnFirstError: false });

type Check = (value: unknown) => true | { message?: string }[];

// Compiled once at module load. Unknown fields are refused by `unknownFields` below rather than
// by the validator's own strict mode, which made three arrays per object per message (and let a
// field named "$$type" through).
function compileChecks(text: typeof printableText | typeof anyText): Record<Feed, Check> {
  const data = dataSchemas(text);
  return Object.fromEntries(
    feeds.map((feed) => [
      feed,
      validator.compile({
        v: { type: "equal", value: 1, strict: true },
        id: text,
        source: text,
        ts: { type: "string", max: 40 },
        area: { type: "string", max: 16 },
        revision: { type: "number", integer: true, min: 0, max: 2_147_483_647, optional: true },
        data: { type: "object", props: data[feed] },
      }),
    ]),
  ) as unknown as Record<Feed, Check>;
}
const checks = compileChecks(printableText);
const checksWithoutEscapes = compileChecks(anyText);

// Strict objects: an unknown field is an error a producer should hear about, not something
// silently ignored (or stored).
const envelopeFields = new Set(["v", "id", "source", "ts", "area", "revision", "data"]);
const dataFields = Object.fromEntries(
  feeds.map((feed) => [feed, new Set(Object.keys(dataSchemas(printableText)[feed]).filter((k) => k !== "$$type"))]),
) as Record<Feed, Set<string>>;

/** The fields of `obj` not in `known`, or null: no array unless there is one. */
function unknownFields(obj: object, known: Set<string>): string[] | null {
  let out: string[] | null = null;
  for (const k in obj) if (!known.has(k)) (out ??= []).push(k);
  return out;
}

const sourceFeeds = new Map(sources.map((s) => [s.id, new Set(Object.keys(s.feeds))]));

const named = (a: Area) => `${a.code} ${a.name_vi}`;
/** At most this many successors are named in a detail (a district became up to 12 communes). */
const maxNamed = 12;

/**
 * Judges `area` on the record's own UTC+7 day: in force that day (the lowest level for carriers'
 * gauges and stations; also the province for agencies' documents and dossiers), retired (naming
 * what replaced it that day), or unknown. Null when accepted, else the refusal.
 */
function judgeArea(feed: Feed, area: string, day: number, tsMs: number): { reason: Reason; detail: string } | null {
  const leafOnly = feed === "subscribers" || feed === "bts";
  if (area === provinceCode) {
    return leafOnly
      ? {
          reason: "unknown_area",
          detail: `area ${provinceCode} (the province) is not accepted for ${feed}: report per commune or ward, as the province total is their sum`,
        }
      : null;
  }
  const j = areaMap.judge(area, day);
  if (j.ok) return null;
  const on = localDay(tsMs);
  if (j.reason === "retired_area") {
    const was = areaMap.versionsOf(area).at(-1)!;
    const list = j.successors.slice(0, maxNamed).map(named).join(", ");
    const more = j.successors.length > maxNamed ? ` and ${j.successors.length - maxNamed} more` : "";
    return {
      reason: "retired_area",
      detail: `area ${area} (${was.name_vi}) is not in force since ${j.retiredOn}; on ${on} its ground is in ${list}${more}: send the code of one of these`,
    };
  }
  if (j.inForceFrom) {
    const a = areaMap.versionsOf(area)[0]!;
    const then = a.former_district ? areaMap.at(a.former_district, day) : undefined;
    const use = then ? `: on that date its ground was in ${named(then)}` : "";
    return {
      reason: "unknown_area",
      detail: `area ${area} (${a.name_vi}) is in force from ${j.inForceFrom}, not on the record's date ${on}${use}`,
    };
  }
  const which = leafOnly ? "the code of a commune or ward" : `the code of a commune or ward, or ${provinceCode} for a provincial agency`;
  return {
    reason: "unknown_area",
    detail: `area ${JSON.stringify(area)} is not a code of this province on any date: use ${which} (seeds' areas.json)`,
  };
}

const districtLevel = retiredLevels.district;
const districtLastDay = districtLevel ? dayNumber(districtLevel.valid_to) : Infinity;
const districtGraceDay = districtLevel ? dayNumber(districtLevel.grace_to) : Infinity;

/** Agencies (esign, egov) in force on the record's day, and egov's level of government. */
function judgeAgencyAndLevel(feed: Feed, data: Record<string, unknown>, day: number): { reason: Reason; detail: string } | null {
  if (feed !== "esign" && feed !== "egov") return null;
  const agency = data.agency as string;
  const j = agencyMap.judge(agency, day);
  if (!j.ok) {
    const was = agencyMap.get(agency)!;
    const then = j.successor ? `; its work is with ${j.successor.id} (${j.successor.name_vi})` : "";
    return { reason: "retired_agency", detail: `agency ${agency} (${was.name_vi}) ended on ${j.endedOn}${then}` };
  }
  // Dossiers received at district level before the cut-over are still resolved after it: their
  // later steps may name the district level until the grace day; a new one may not.
  if (feed === "egov" && data.level === "district" && day > districtLastDay) {
    const received = data.status === "received";
    if (received || day > districtGraceDay) {
      return {
        reason: "retired_level",
        detail: received
          ? `level district ended on ${districtLevel!.valid_to}: a dossier received after it is at commune or province level`
          : `level district ended on ${districtLevel!.valid_to}; later steps of dossiers received before it were taken until ${districtLevel!.grace_to}`,
      };
    }
  }
  return null;
}

/** Days in each month of a common year; February gets its 29th in leap years. */
const monthDays = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The two decimal digits at `i`, or -1. */
function two(v: string, i: number): number {
  const a = v.charCodeAt(i) - 48;
  const b = v.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Parses an RFC 3339 date-time with a mandatory offset (`Z` or ±hh:mm) to epoch ms; null when it
 * is anything else. `Date.parse` alone would accept "2026-11-26 09:15", bare numbers and local
 * times, which would shift figures by seven hours. Read a character at a time: this runs on every
 * event, and a regular expression with ten groups, eight `Number`s and a `Date` cost more than
 * the rest of the time checks together. Fractions of 1 to 9 digits; milliseconds are kept.
 */
export function parseOffsetTime(v: string): number | null {
  // YYYY-MM-DDTHH:MM:SS is 19 characters; the shortest whole form adds "Z".
  if (v.length < 20 || v.length > 35) return null;
  const yh = two(v, 0),
    yl = two(v, 2),
    mo = two(v, 5),
    d = two(v, 8),
    h = two(v, 11),
    mi = two(v, 14),
    sec = two(v, 17);
  if (v[4] !== "-" || v[7] !== "-" || v[10] !== "T" || v[13] !== ":" || v[16] !== ":") return null;
  if (yh < 0 || yl < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0) return null;
  const y = yh * 100 + yl;
  if (y < 2000 || y > 2100 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return null;
  // A day past the month's end (2026-02-31) would roll over into the next month: refuse it.
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (mo === 2 && leap ? 29 : monthDays[mo - 1]!)) return null;
  let i = 19;
  let ms = 0;
  if (v[i] === ".") {
    const from = ++i;
    while (i < v.length && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) {
      if (i - from < 3) ms = ms * 10 + (v.charCodeAt(i) - 48);
      i++;
    }
    const digits = i - from;
    if (digits < 1 || digits > 9) return null;
    for (let k = digits; k < 3; k++) ms *= 10;
  }
  let offsetMin = 0;
  const z = v[i];
  if (z === "Z" || z === "z") {
    if (i + 1 !== v.length) return null;
  } else if (z === "+" || z === "-") {
    const oh = two(v, i + 1),
      om = two(v, i + 4);
    if (i + 6 !== v.length || v[i + 3] !== ":" || oh < 0 || om < 0) return null;
    // Postgres takes offsets up to ±15:59 (real zones span −12:00 to +14:00): refuse what it
    // would refuse, here, with a reason the producer can act on.
    if (oh > 15 || om > 59) return null;
    offsetMin = (z === "-" ? -1 : 1) * (oh * 60 + om);
  } else {
    return null;
  }
  return Date.UTC(y, mo - 1, d, h, mi, sec, ms) - offsetMin * 60_000;
}

/**
 * A time's fraction cut to six digits. Postgres keeps microseconds and rounds the rest, which
 * could carry 23:59:59.9999996 into the next day while we read it as the last millisecond of this
 * one: keep six digits, as stored. (Seven fraction digits need at least 28 characters.)
 */
export function keepMicroseconds(ts: string): string {
  return ts.length >= 28 ? ts.replace(/(\.\d{6})\d+/, "$1") : ts;
}

const monthNames = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/**
 * Why `parseOffsetTime` refused a time, in words a producer can act on. Only for a refusal: the
 * accepting path stays the fast one above, and this must agree with it (a test holds the two
 * together).
 */
export function explainBadTime(v: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})(.)(\d{2}):(\d{2})(?::(\d{2}))?(\.\d*)?(.*)$/s.exec(v);
  if (!m) return "it is not of the form YYYY-MM-DDTHH:MM:SS followed by Z or an offset";
  const [, yy, mm, dd, sep, hh, mi, ss, frac, zone] = m as unknown as string[];
  const y = Number(yy),
    mo = Number(mm),
    d = Number(dd);
  if (sep !== "T") return `the date and the time must be joined by "T", not ${JSON.stringify(sep)}`;
  if (ss === undefined) return "the time has no seconds: write HH:MM:SS";
  if (frac === ".") return "a decimal point with no digits after it";
  if (zone === "") return "it has no offset: add Z (UTC) or ±hh:mm (+07:00 in Vietnam), as a time without one could be any zone's";
  const z = /^(?:[Zz]|([+-])(\d{2}):(\d{2}))$/.exec(zone!);
  if (!z) return `the offset ${JSON.stringify(zone)} is neither Z nor ±hh:mm`;
  if (z[2] !== undefined && (Number(z[2]) > 15 || Number(z[3]) > 59)) return `the offset ${zone} is beyond ±15:59`;
  if (y < 2000 || y > 2100) return `the year ${y} is outside 2000–2100`;
  if (mo < 1 || mo > 12) return `there is no month ${mm}`;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  const days = mo === 2 && leap ? 29 : monthDays[mo - 1]!;
  if (d < 1 || d > days) return `there is no day ${dd} in ${monthNames[mo - 1]} ${y}, which has ${days} days`;
  if (Number(hh) > 23) return `there is no hour ${hh}`;
  if (Number(mi) > 59) return `there is no minute ${mi}`;
  if (Number(ss) === 60) return "a leap second (:60) is not accepted: send :59";
  if (Number(ss) > 59) return `there is no second ${ss}`;
  return "it is not RFC 3339";
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Routes of recent subjects: a feed has a handful of sources. */
const routeOf = boundedMemo(parseFeedSubject);

function fail(reason: Reason, detail: string, id: string | null = null, revision: number | null = null): DecodeResult {
  return { ok: false, reason, detail, id, revision };
}

/**
 * Decodes and checks one feed message. Returns the event, or the reason code and a detail a
 * carrier's engineer can act on. Never throws.
 */
export function decode(input: DecodeInput, options: DecodeOptions = {}): DecodeResult {
  const maxBytes = options.maxBytes ?? 65_536;
  const maxFutureMs = options.maxFutureMs ?? 300_000;
  if (input.payload.byteLength > maxBytes) {
    return fail("too_large", `payload is ${input.payload.byteLength} bytes; the limit is ${maxBytes}`);
  }
  const route = routeOf(input.subject);
  if (!route) return fail("bad_subject", `subject ${JSON.stringify(input.subject)} is not feeds.<feed>.<source>`);
  const allowed = sourceFeeds.get(route.source);
  if (!allowed) return fail("unknown_source", `source ${JSON.stringify(route.source)} is not registered in seeds/data/sources.json`);
  if (!allowed.has(route.feed)) {
    return fail("feed_not_allowed", `source ${route.source} may publish ${[...allowed].join(", ")}, not ${route.feed}`);
  }

  if (input.payload.byteLength === 0) return fail("bad_json", "the payload is empty: send one JSON object");
  let body: unknown;
  let text: string;
  try {
    text = textDecoder.decode(input.payload);
    body = JSON.parse(text);
  } catch (err) {
    return fail("bad_json", `not valid UTF-8 JSON: ${(err as Error).message}`);
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return fail("bad_json", `expected one JSON object, got ${body === null ? "null" : Array.isArray(body) ? "an array" : typeof body}`);
  }
  const rec = body as Record<string, unknown>;
  const id = typeof rec.id === "string" ? rec.id.slice(0, maxStringLength) : null;
  // Told back with a refusal and stored with its dead letter: only a revision the schema could
  // hold (an int), so a wild number can never make the dead letter itself fail.
  const rev =
    Number.isInteger(rec.revision) && (rec.revision as number) >= 0 && (rec.revision as number) <= 2_147_483_647
      ? (rec.revision as number)
      : rec.revision === undefined
        ? 0
        : null;

  // Before the shape check: a lone surrogate passes every pattern, yet no UTF-8 encoder can write
  // it, so Postgres would store U+FFFD and the record would no longer be the one we checked.
  // Strict UTF-8 cannot carry a surrogate: only a \u escape can, so most payloads skip the walk.
  const illFormed = text.includes("\\u") ? findIllFormedString(rec) : null;
  if (illFormed) {
    const where = illFormed.inFieldName ? `a field name in ${illFormed.path || "the envelope"}` : `field ${illFormed.path}`;
    return fail(
      "bad_shape",
      `${where} is not well-formed Unicode: a lone surrogate ${illFormed.codeUnit} at index ${illFormed.index} (an escape such as "\\ud800" without its pair); send UTF-8 text`,
      id,
      rev,
    );
  }
  const checked = (text.includes("\\") || text.includes("\u007f") ? checks : checksWithoutEscapes)[route.feed](rec);
  const data = rec.data;
  const extraData = typeof data === "object" && data !== null && !Array.isArray(data) ? unknownFields(data, dataFields[route.feed]) : null;
  const extra = unknownFields(rec, envelopeFields);
  if (checked !== true || extraData || extra) {
    const problems = checked === true ? [] : checked.map((e) => e.message ?? "invalid");
    if (extraData) problems.push(`The object 'data' contains forbidden keys: '${extraData.join(", ")}'.`);
    if (extra) problems.push(`The envelope contains forbidden keys: '${extra.join(", ")}'.`);
    return fail("bad_shape", problems.join("; "), id, rev);
  }
  if (rec.source !== route.source) {
    return fail(
      "source_mismatch",
      `envelope source ${JSON.stringify(rec.source)} but subject source ${JSON.stringify(route.source)}`,
      id,
      rev,
    );
  }
  const ts = keepMicroseconds(rec.ts as string);
  const tsMs = parseOffsetTime(ts);
  if (tsMs === null) {
    return fail(
      "bad_time",
      `ts ${JSON.stringify(rec.ts)} is not an RFC 3339 time with an offset: ${explainBadTime(ts)}; e.g. 2026-11-26T09:15:00+07:00`,
      id,
      rev,
    );
  }
  if (tsMs > input.receivedMs + maxFutureMs) {
    const ahead = Math.round((tsMs - input.receivedMs) / 1000);
    return fail(
      "future_time",
      `ts is ${ahead} s after the broker received the message; at most ${maxFutureMs / 1000} s is allowed`,
      id,
      rev,
    );
  }
  const area = rec.area as string;
  const day = localDayNumber(tsMs);
  const refused = judgeArea(route.feed, area, day, tsMs) ?? judgeAgencyAndLevel(route.feed, rec.data as Record<string, unknown>, day);
  if (refused) return fail(refused.reason, refused.detail, id, rev);
  return {
    ok: true,
    value: {
      feed: route.feed,
      source: route.source,
      id: rec.id as string,
      revision: (rec.revision as number | undefined) ?? 0,
      ts,
      tsMs,
      area,
      data: rec.data,
    } as FeedEvent,
  };
}
