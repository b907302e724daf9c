/**
 * Properties of `decode()`: whatever the bytes, it never throws and answers exactly one of
 * "accepted" (a well-formed event) or a reason code from contracts, and which one is what an
 * independent reading of the contract (DESIGN.md, "Contracts") says. The reference below is
 * written from the rules, not from decode.ts: a regular expression for the time, plain checks
 * for the fields, the same order of precedence (size, subject, JSON, shape, source, time,
 * future, area, agency, level). The map is read from seeds' JSON files and compared as UTC+7
 * calendar-day strings, not through the AreaMap the decoder uses.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { provinceCode, sources } from "@pulse/seeds";
import { describe, expect, it } from "vitest";
import { decode, type DecodeResult } from "./decode";
import { btsStatuses, channels, egovStatuses, levels, services, signers, techs } from "./feeds";
import { reasonCodes, type Reason } from "./reasons";
import { feeds, type Feed } from "./subjects";

const maxBytes = 65_536;
const maxFutureMs = 300_000;
const seedJson = <T>(file: string): T => JSON.parse(readFileSync(new URL(`../../../seeds/data/${file}`, import.meta.url), "utf8")) as T;
type Dated = { valid_from: string | null; valid_to: string | null };
const areasJson = seedJson<{
  areas: (Dated & { code: string; level: string })[];
  levels: { district: { valid_to: string; grace_to: string } };
}>("areas.json");
const agenciesJson = seedJson<{ agencies: (Dated & { id: string })[] }>("agencies.json");
/** Every version of every area below the province. */
const unitVersions = areasJson.areas.filter((a) => a.level !== "province");
const unitCodes = [...new Set(unitVersions.map((a) => a.code))];
const inForceOn = (v: Dated, day: string) => (v.valid_from === null || v.valid_from <= day) && (v.valid_to === null || day <= v.valid_to);
/** The UTC+7 calendar day of an instant. */
const utc7Day = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 10);
/** Codes below the province in force on `day`. */
const unitsOn = (day: string) => unitVersions.filter((v) => inForceOn(v, day)).map((v) => v.code);
const sourcesOf = (feed: Feed) => sources.filter((s) => feed in s.feeds).map((s) => s.id);

// ---------------------------------------------------------------------------------------------
// The reference reading of the contract.

type Expect = { ok: true; tsMs: number } | { ok: false; reason: Reason };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** A lone surrogate anywhere in a string value or a field name of a parsed JSON value. */
function hasLoneSurrogate(v: unknown): boolean {
  const lone = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff) {
        const n = s.charCodeAt(i + 1);
        if (n >= 0xdc00 && n <= 0xdfff) i++;
        else return true;
      } else if (c >= 0xdc00 && c <= 0xdfff) return true;
    }
    return false;
  };
  if (typeof v === "string") return lone(v);
  if (Array.isArray(v)) return v.some(hasLoneSurrogate);
  if (isObject(v)) return Object.entries(v).some(([k, x]) => lone(k) || hasLoneSurrogate(x));
  return false;
}

/** Bounded, printable text: 1 to 128 UTF-16 code units, none of them C0 controls or DEL. */
const isText = (v: unknown) => typeof v === "string" && v.length >= 1 && v.length <= 128 && !/[\u0000-\u001f\u007f]/.test(v);
const isInt = (v: unknown, min: number, max: number) => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
const oneOf = (values: readonly string[]) => (v: unknown) => typeof v === "string" && values.includes(v);

const dataRules: Record<Feed, Record<string, (v: unknown) => boolean>> = {
  subscribers: { service: oneOf(services), count: (v) => isInt(v, 0, 1_000_000_000) },
  bts: { station: isText, tech: oneOf(techs), status: oneOf(btsStatuses) },
  esign: { agency: isText, doc: isText, signed: (v) => typeof v === "boolean", signer: oneOf(signers) },
  egov: { procedure: isText, agency: isText, level: oneOf(levels), channel: oneOf(channels), status: oneOf(egovStatuses) },
};

const envelopeRules: Record<string, (v: unknown) => boolean> = {
  v: (v) => v === 1,
  id: isText,
  source: isText,
  ts: (v) => typeof v === "string" && v.length <= 40,
  area: (v) => typeof v === "string" && v.length <= 16,
  // Optional: absent or null is revision 0.
  revision: (v) => v === undefined || v === null || isInt(v, 0, 2_147_483_647),
  data: isObject,
};

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Epoch ms of an RFC 3339 time with an offset inside the contract's range, or null. */
function referenceTime(ts: string): number | null {
  const m = rfc3339.exec(ts);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  if (y < 2000 || y > 2100 || mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59) return null;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d < 1 || d > days) return null;
  const oh = m[10] === undefined ? 0 : Number(m[10]);
  const om = m[11] === undefined ? 0 : Number(m[11]);
  if (oh > 15 || om > 59) return null;
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  const sign = m[9] === "-" ? -1 : 1;
  return Date.UTC(y, mo - 1, d, h, mi, s, ms) - sign * (oh * 60 + om) * 60_000;
}

function reference(subject: string, payload: Uint8Array, receivedMs: number): Expect {
  const no = (reason: Reason): Expect => ({ ok: false, reason });
  if (payload.byteLength > maxBytes) return no("too_large");
  const parts = subject.split(".");
  if (parts.length !== 3 || parts[0] !== "feeds" || !(feeds as readonly string[]).includes(parts[1]!) || parts[2] === "")
    return no("bad_subject");
  const feed = parts[1] as Feed;
  const source = sources.find((s) => s.id === parts[2]);
  if (!source) return no("unknown_source");
  if (!(feed in source.feeds)) return no("feed_not_allowed");
  let body: unknown;
  try {
    // One byte-order mark before the text is allowed (RFC 8259 lets a parser ignore it).
    let text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(payload);
    if (text.startsWith("\uFEFF")) text = text.slice(1);
    body = JSON.parse(text);
  } catch {
    return no("bad_json");
  }
  if (!isObject(body)) return no("bad_json");
  if (hasLoneSurrogate(body)) return no("bad_shape");
  for (const [k, rule] of Object.entries(envelopeRules)) if (!rule(body[k])) return no("bad_shape");
  for (const k of Object.keys(body)) if (!Object.hasOwn(envelopeRules, k)) return no("bad_shape");
  const data = body.data as Record<string, unknown>;
  for (const [k, rule] of Object.entries(dataRules[feed])) if (!rule(data[k])) return no("bad_shape");
  for (const k of Object.keys(data)) if (!Object.hasOwn(dataRules[feed], k)) return no("bad_shape");
  if (body.source !== source.id) return no("source_mismatch");
  const tsMs = referenceTime(body.ts as string);
  if (tsMs === null) return no("bad_time");
  if (tsMs > receivedMs + maxFutureMs) return no("future_time");
  const area = body.area as string;
  const day = utc7Day(tsMs);
  const agencyFeed = feed === "esign" || feed === "egov";
  if (area === provinceCode) {
    if (!agencyFeed) return no("unknown_area");
  } else {
    const versions = unitVersions.filter((v) => v.code === area);
    if (!versions.some((v) => inForceOn(v, day))) {
      return no(versions.some((v) => v.valid_to !== null && v.valid_to < day) ? "retired_area" : "unknown_area");
    }
  }
  if (agencyFeed) {
    const agency = agenciesJson.agencies.find((a) => a.id === data.agency);
    if (agency?.valid_to != null && agency.valid_to < day) return no("retired_agency");
  }
  const district = areasJson.levels.district;
  if (feed === "egov" && data.level === "district" && day > district.valid_to) {
    if (data.status === "received" || day > district.grace_to) return no("retired_level");
  }
  return { ok: true, tsMs };
}

/** The invariants of every answer, whatever the input. */
function checkWellFormed(r: DecodeResult): void {
  expect(typeof r.ok).toBe("boolean");
  if (r.ok) {
    expect(Object.keys(r)).toEqual(["ok", "value"]);
    expect(feeds).toContain(r.value.feed);
    expect(Number.isFinite(r.value.tsMs)).toBe(true);
  } else {
    expect(Object.keys(r).sort()).toEqual(["detail", "id", "ok", "reason", "revision"]);
    expect(reasonCodes).toContain(r.reason);
    expect(typeof r.detail).toBe("string");
    expect(r.detail.length).toBeGreaterThan(0);
    expect(r.id === null || typeof r.id === "string").toBe(true);
    expect(r.revision === null || isInt(r.revision, 0, 2_147_483_647)).toBe(true);
  }
}

function run(subject: string, payload: Uint8Array, receivedMs: number): DecodeResult {
  let r: DecodeResult | undefined;
  expect(() => (r = decode({ subject, payload, receivedMs }, { maxBytes, maxFutureMs }))).not.toThrow();
  checkWellFormed(r!);
  const want = reference(subject, payload, receivedMs);
  if (want.ok) {
    expect(r!.ok ? "accepted" : `${r!.reason}: ${(r as { detail: string }).detail}`).toBe("accepted");
    if (r!.ok) expect(r!.value.tsMs).toBe(want.tsMs);
  } else {
    expect(r!.ok ? "accepted" : r!.reason).toBe(want.reason);
  }
  return r!;
}

// ---------------------------------------------------------------------------------------------
// Generators.

/** Pieces of text that tend to break things: combining marks, 4-byte characters, BOMs, joiners. */
const awkward = [
  "\u0301", // combining acute, alone at the start of a string
  "e\u0301",
  "Nghệ An",
  "Nghe\u0323\u0302 An", // the same, decomposed
  "\u{1F600}",
  "\u{20000}", // CJK extension B, 4 bytes
  "\uFEFF", // a BOM inside a string is just a character
  "\u200D",
  "\u200F",
  "\u2028",
  "\uFFFE",
  "\uFFFF",
  "\u0085", // C1 control: allowed by the contract (only C0 and DEL are refused)
  "\\",
  '"',
  "'",
  "/",
  "\\u0000", // a backslash-u as text, not a NUL
  " ",
  "%",
  "$$type",
];
/** Pieces the contract refuses in text. */
const forbidden = ["\u0000", "\u0001", "\u001f", "\u007f", "\t", "\n", "\ud800", "\udfff", "\ude00\ud83d"];

const textPiece = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom(...awkward) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 4 }) },
);
/** Valid text of 1 to 128 code units. */
const validText = fc
  .array(textPiece, { minLength: 1, maxLength: 12 })
  .map((p) => p.join(""))
  .filter(isText);
/** Text at the length limit and just past it, in 1-, 2- and 4-byte characters. */
const edgeLengthText = fc
  .tuple(fc.constantFrom("a", "ệ", "\u{1F600}"), fc.constantFrom(-1, 0, 1))
  .map(([c, d]) => c.repeat(Math.max(1, Math.floor((128 + d * c.length) / c.length))).slice(0, 128 + d));

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** A time near a boundary, valid or not: leap days, month ends, the year range, offsets, fractions. */
const edgeTime = fc
  .record({
    y: fc.constantFrom(1999, 2000, 2024, 2026, 2100, 2101),
    mo: fc.constantFrom(0, 1, 2, 4, 12, 13),
    d: fc.constantFrom(0, 1, 28, 29, 30, 31, 32),
    h: fc.constantFrom(0, 23, 24),
    mi: fc.constantFrom(0, 59, 60),
    s: fc.constantFrom(0, 59, 60),
    frac: fc.constantFrom("", ".", ".0", ".9", ".999", ".999999", ".9999999", ".123456789", ".1234567891"),
    zone: fc.constantFrom("Z", "z", "+07:00", "-00:00", "+15:59", "-15:59", "+16:00", "+07:60", "+0700", "", "+7:00"),
    sep: fc.constantFrom("T", "T", "T", "t", " "),
  })
  .map((t) => `${pad(t.y, 4)}-${pad(t.mo)}-${pad(t.d)}${t.sep}${pad(t.h)}:${pad(t.mi)}:${pad(t.s)}${t.frac}${t.zone}`);

/** A valid time between 2000 and November 2026, with 0 to 9 fraction digits and any offset Postgres takes. */
const validTime = fc
  .record({
    // Half of them around the map's changes (2025-01-01, 2025-07-01) and since.
    ms: fc.oneof(
      fc.integer({ min: Date.UTC(2000, 0, 2), max: Date.UTC(2026, 10, 1) }),
      fc.integer({ min: Date.UTC(2024, 11, 1), max: Date.UTC(2026, 10, 1) }),
    ),
    micro: fc.integer({ min: 0, max: 999_999 }),
    digits: fc.integer({ min: 0, max: 9 }),
    offsetMin: fc.integer({ min: -(15 * 60 + 59), max: 15 * 60 + 59 }),
  })
  .map(({ ms, micro, digits, offsetMin }) => {
    const local = new Date(Math.floor(ms / 1000) * 1000 + offsetMin * 60_000).toISOString().slice(0, 19);
    const frac = digits === 0 ? "" : `.${String(micro).padStart(6, "0")}${"123"}`.slice(0, digits + 1);
    const a = Math.abs(offsetMin);
    const zone = offsetMin === 0 ? "Z" : `${offsetMin < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
    return `${local}${frac}${zone}`;
  });

const dataOf: Record<Feed, fc.Arbitrary<Record<string, unknown>>> = {
  subscribers: fc.record({
    service: fc.constantFrom(...services),
    count: fc.oneof(fc.integer({ min: 0, max: 1_000_000_000 }), fc.constantFrom(0, 1_000_000_000)),
  }),
  bts: fc.record({ station: validText, tech: fc.constantFrom(...techs), status: fc.constantFrom(...btsStatuses) }),
  esign: fc.record({ agency: validText, doc: validText, signed: fc.boolean(), signer: fc.constantFrom(...signers) }),
  egov: fc.record({
    procedure: validText,
    agency: validText,
    level: fc.constantFrom(...levels),
    channel: fc.constantFrom(...channels),
    status: fc.constantFrom(...egovStatuses),
  }),
};

/** A valid record of any feed, its subject, and a receipt time at or after its ts. */
const validRecord = fc.constantFrom(...feeds).chain((feed) =>
  fc
    .record({
      source: fc.constantFrom(...sourcesOf(feed)),
      id: fc.oneof(validText, edgeLengthText.filter(isText)),
      ts: validTime,
      // An area in force on the record's day (picked below), the province for agencies.
      areaPick: fc.nat(),
      revision: fc.option(fc.oneof(fc.nat(), fc.constant(2_147_483_647)), { nil: undefined }),
      data: dataOf[feed],
      lateMs: fc.oneof(fc.nat({ max: 86_400_000 * 400 }), fc.constantFrom(0, 1)),
    })
    .map(({ source, lateMs, revision, areaPick, ...rest }) => {
      const choices = [...unitsOn(utc7Day(referenceTime(rest.ts)!)), ...(feed === "esign" || feed === "egov" ? [provinceCode] : [])];
      const record: Record<string, unknown> = { v: 1, source, ...rest, area: choices[areaPick % choices.length] };
      // No district level after it ended (a later step within the grace is a case of its own).
      const data = rest.data;
      if (feed === "egov" && data.level === "district" && utc7Day(referenceTime(rest.ts)!) > areasJson.levels.district.valid_to) {
        record.data = { ...data, level: "commune" };
      }
      if (revision !== undefined) record.revision = revision;
      return { feed, subject: `feeds.${feed}.${source}`, record, receivedMs: referenceTime(rest.ts)! + lateMs };
    }),
);

/** Any value of another type, or an awkward one of the same. */
const otherValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, -0, 1e21, 2_147_483_648, 1_000_000_001, "", "1", [], {}, [1], { a: 1 }),
  fc.constantFrom(...forbidden).map((f) => `a${f}b`),
  fc.constantFrom(...forbidden),
  edgeLengthText,
  edgeTime,
  validText,
  fc.constantFrom(...unitCodes, provinceCode, "040", "4120", "41 2", "412\u200b", "380", "14845"),
  // Codes on both sides of the cut-over, so that retired and not-yet-in-force areas come up often.
  fc.constantFrom("412", "413", "426", "16732", "17506"),
  fc.constantFrom("ubnd-huyen", "ubnd-xa", "so-tttt", "so-khcn", "district", "commune"),
  fc.constantFrom(...services, ...techs, ...btsStatuses, ...signers, ...levels, ...channels, ...egovStatuses, "MOBILE", "up "),
  fc.constantFrom(...sources.map((s) => s.id), "Viettel", " viettel"),
  fc.jsonValue({ maxDepth: 2 }),
);

type Mutation = { path: ["env" | "data", string]; value: unknown } | { path: ["env" | "data", string]; remove: true };

/** One field of the envelope or of data (or a new one) replaced, removed, or added. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    path: fc.tuple(
      fc.constant("env" as const),
      fc.constantFrom("v", "id", "source", "ts", "area", "revision", "data", "extra", "__proto__", "constructor", "$$type"),
    ),
    value: otherValue,
  }),
  fc.record({
    path: fc.tuple(
      fc.constant("data" as const),
      fc.constantFrom(
        "service",
        "count",
        "station",
        "tech",
        "status",
        "agency",
        "doc",
        "signed",
        "signer",
        "procedure",
        "level",
        "channel",
        "x",
        "__proto__",
        "",
      ),
    ),
    value: otherValue,
  }),
  fc.record({
    path: fc.tuple(fc.constantFrom("env" as const, "data" as const), fc.constantFrom("v", "id", "ts", "area", "revision", "data", "count")),
    remove: fc.constant(true as const),
  }),
);

/**
 * JSON text of a record with one field changed. `__proto__` cannot be set through an object
 * literal, so the text is edited: JSON.parse makes it an own field, as a producer's JSON would.
 */
function mutatedText(record: Record<string, unknown>, m: Mutation): string {
  const env = { ...record, data: { ...(record.data as object) } } as Record<string, unknown>;
  const target = m.path[0] === "env" ? env : (env.data as Record<string, unknown>);
  const k = m.path[1];
  if ("remove" in m) {
    delete target[k];
    return JSON.stringify(env);
  }
  if (k === "__proto__") {
    const text = JSON.stringify(env);
    const json = JSON.stringify(m.value) ?? "null";
    return m.path[0] === "env" ? text.replace(/^\{/, `{"__proto__":${json},`) : text.replace(/"data":\{/, `"data":{"__proto__":${json},`);
  }
  target[k] = m.value;
  return JSON.stringify(env);
}

const enc = new TextEncoder();
const anySubject = fc.oneof(
  fc.constantFrom(
    ...feeds.flatMap((f) => sources.map((s) => `feeds.${f}.${s.id}`)),
    "feeds.egov",
    "feeds.egov.dvc.x",
    "feeds..dvc",
    "feeds.egov.",
    "feeds.weather.dvc",
    "feeds.egov.nobody",
    "FEEDS.egov.dvc",
    "",
  ),
  fc.string({ maxLength: 30 }),
);
const anyReceived = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.constant(Date.UTC(2026, 10, 26, 2, 15)));

// ---------------------------------------------------------------------------------------------

const numRuns = 3_000;

describe("decode: properties", () => {
  it("never throws on random bytes, and answers as the contract says", () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      // Nearly JSON: random bytes spliced into a valid record's text.
      fc.tuple(validRecord, fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.nat()).map(([r, junk, at]) => {
        const b = enc.encode(JSON.stringify(r.record));
        const i = at % b.length;
        return Uint8Array.from([...b.subarray(0, i), ...junk, ...b.subarray(i + junk.length)]);
      }),
    );
    fc.assert(
      fc.property(anySubject, bytes, anyReceived, (subject, payload, receivedMs) => void run(subject, payload, receivedMs)),
      { numRuns },
    );
  });

  it("never throws on random JSON values, and answers as the contract says", () => {
    const json = fc.oneof(
      fc.jsonValue(),
      fc.object(),
      fc.anything({ withObjectString: false }).map((v) => JSON.stringify(v) ?? "null"),
    );
    fc.assert(
      fc.property(anySubject, json, anyReceived, (subject, v, receivedMs) => {
        const text = typeof v === "string" ? v : JSON.stringify(v);
        run(subject, enc.encode(text), receivedMs);
      }),
      { numRuns },
    );
  });

  it("accepts every valid record, with its fields as sent and its time to the millisecond", () => {
    fc.assert(
      fc.property(validRecord, fc.boolean(), ({ subject, record, receivedMs }, bom) => {
        const text = JSON.stringify(record);
        const r = run(subject, enc.encode(bom ? `\uFEFF${text}` : text), receivedMs);
        if (!r.ok) return;
        expect(r.value.id).toBe(record.id);
        expect(r.value.source).toBe(record.source);
        expect(r.value.area).toBe(record.area);
        expect(r.value.revision).toBe(record.revision ?? 0);
        expect(r.value.data).toStrictEqual(JSON.parse(JSON.stringify(record.data)));
        // ts as sent, its fraction cut to microseconds (what Postgres keeps).
        expect(r.value.ts).toBe((record.ts as string).replace(/(\.\d{6})\d+/, "$1"));
      }),
      { numRuns },
    );
  });

  it("answers a valid record with one field changed, removed or added as the contract says", () => {
    let accepted = 0;
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(validRecord, mutation, ({ subject, record, receivedMs }, m) => {
        const r = run(subject, enc.encode(mutatedText(record, m)), receivedMs);
        if (r.ok) accepted++;
        const k = r.ok ? "accepted" : r.reason;
        seen.set(k, (seen.get(k) ?? 0) + 1);
      }),
      { numRuns: 6_000 },
    );
    console.log(`decode mutations: ${[...seen].map(([k, n]) => `${k}=${n}`).join(" ")}`);
    // The mutations must reach both answers and most reasons, or the comparison proves little.
    expect(accepted).toBeGreaterThan(100);
    expect([...seen.keys()].sort()).toEqual(
      expect.arrayContaining(["accepted", "bad_shape", "bad_time", "source_mismatch", "unknown_area"]),
    );
  });

  it("judges any code of the province, any agency and any level on any day as seeds' dates say", () => {
    const seen = new Map<string, number>();
    const agencyIds = agenciesJson.agencies.map((a) => a.id);
    fc.assert(
      fc.property(
        validRecord,
        fc.constantFrom(...unitCodes, provinceCode, "380"),
        fc.constantFrom(...agencyIds, "ubnd-xa"),
        fc.constantFrom(...levels),
        validTime,
        ({ subject, record, feed }, area, agency, level, ts) => {
          const data = feed === "esign" || feed === "egov" ? { ...(record.data as object), agency } : (record.data as object);
          if (feed === "egov") Object.assign(data, { level });
          const r = run(subject, enc.encode(JSON.stringify({ ...record, area, ts, data })), referenceTime(ts)!);
          const k = r.ok ? "accepted" : r.reason;
          seen.set(k, (seen.get(k) ?? 0) + 1);
        },
      ),
      { numRuns },
    );
    console.log(`decode areas and agencies: ${[...seen].map(([k, n]) => `${k}=${n}`).join(" ")}`);
    expect([...seen.keys()].sort()).toEqual(["accepted", "retired_agency", "retired_area", "retired_level", "unknown_area"]);
  });

  it("judges a time against the broker's receipt time, to the millisecond, at every boundary", () => {
    fc.assert(
      fc.property(validRecord, fc.oneof(edgeTime, validTime), fc.integer({ min: -3, max: 3 }), ({ subject, record }, ts, d) => {
        const tsMs = referenceTime(ts);
        // The receipt time just around ts - 5 minutes, so that the future check is at its edge.
        const receivedMs = (tsMs ?? Date.UTC(2026, 10, 26)) - maxFutureMs + d;
        run(subject, enc.encode(JSON.stringify({ ...record, ts })), receivedMs);
      }),
      { numRuns },
    );
  });

  it("refuses a record past the size limit whatever it holds, and takes one at the limit", () => {
    fc.assert(
      fc.property(validRecord, fc.constantFrom(-1, 0, 1, 1000), ({ subject, record, receivedMs }, d) => {
        const text = JSON.stringify(record);
        // Pad with whitespace (JSON allows it) to exactly the limit plus d bytes.
        const payload = enc.encode(text + " ".repeat(Math.max(0, maxBytes + d - enc.encode(text).byteLength)));
        const r = run(subject, payload, receivedMs);
        expect(r.ok).toBe(d <= 0);
      }),
      { numRuns: 200 },
    );
  });
});
