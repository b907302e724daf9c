import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decode, explainBadTime, keepMicroseconds, parseOffsetTime } from "./decode";
import { findIllFormedString } from "./well-formed";

const receivedMs = Date.parse("2026-11-26T09:15:00+07:00");
const egov = {
  v: 1,
  id: "H40.12-2611-0042:received",
  source: "dvc",
  ts: "2026-11-26T09:15:00+07:00",
  area: "16681",
  data: { procedure: "1.004227", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received" },
};

// The realistic path: a producer's JSON text carrying an escape such as "\ud800" with no pair,
// which JSON.parse turns into a lone surrogate. JSON.stringify writes one back as that escape.
const decodeText = (text: string) => decode({ subject: "feeds.egov.dvc", payload: new TextEncoder().encode(text), receivedMs });

describe("decode: well-formed Unicode", () => {
  it("accepts the reference record, and text outside the Basic Multilingual Plane (a surrogate pair)", () => {
    expect(decodeText(JSON.stringify(egov)).ok).toBe(true);
    expect(decodeText(JSON.stringify({ ...egov, data: { ...egov.data, agency: "ubnd-\u{1F600}" } })).ok).toBe(true);
    // The same pair written as two escapes is the same text.
    expect(decodeText(JSON.stringify(egov).replace("ubnd-xa", "ubnd-\\ud83d\\ude00")).ok).toBe(true);
  });

  it("ignores a UTF-8 byte-order mark before the record (RFC 8259 lets a parser), and only there", () => {
    const r = decodeText(`\uFEFF${JSON.stringify(egov)}`);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value.id).toBe(egov.id);
    expect(decodeText(`\uFEFF\uFEFF${JSON.stringify(egov)}`)).toMatchObject({ ok: false, reason: "bad_json" });
    expect(decodeText(`${JSON.stringify(egov)}\uFEFF`)).toMatchObject({ ok: false, reason: "bad_json" });
  });

  it("refuses an id with a lone surrogate as bad_shape, naming the field", () => {
    const text = JSON.stringify({ ...egov, id: "a\uD800" });
    expect(text).toContain('"a\\ud800"');
    const r = decodeText(text);
    expect(r).toMatchObject({ ok: false, reason: "bad_shape", id: "a\uD800", revision: 0 });
    if (!r.ok) expect(r.detail).toMatch(/^field id is not well-formed Unicode: a lone surrogate U\+D800 at index 1/);
  });

  it("refuses a lone surrogate in any string of data, area or source", () => {
    const cases: [object, string][] = [
      [{ ...egov, data: { ...egov.data, agency: "\uDC00ubnd" } }, "field data.agency"],
      [{ ...egov, data: { ...egov.data, procedure: "1.004227\uDBFF" } }, "field data.procedure"],
      [{ ...egov, area: "41\uD800" }, "field area"],
      [{ ...egov, source: "dvc\uDFFF" }, "field source"],
      // A reversed pair is two lone halves.
      [{ ...egov, data: { ...egov.data, agency: "\uDE00\uD83D" } }, "field data.agency"],
      [{ ...egov, data: { ...egov.data, ["x\uD800"]: "y" } }, "a field name in data"],
    ];
    for (const [rec, where] of cases) {
      const r = decodeText(JSON.stringify(rec));
      expect(r.ok, where).toBe(false);
      if (!r.ok) {
        expect(r.reason, where).toBe("bad_shape");
        expect(r.detail.startsWith(`${where} is not well-formed Unicode`), r.detail).toBe(true);
      }
    }
  });
});

describe("findIllFormedString", () => {
  it("walks objects and arrays and reports the first lone surrogate with its path", () => {
    expect(findIllFormedString({ a: "ok", b: { c: ["x", "\u{10FFFF}"] } })).toBeNull();
    expect(findIllFormedString({ a: "ok", b: { c: ["x", "y\uDC01"] } })).toEqual({
      path: "b.c[1]",
      inFieldName: false,
      codeUnit: "U+DC01",
      index: 1,
    });
    expect(findIllFormedString({ ["\uD801"]: 1 })).toEqual({ path: "", inFieldName: true, codeUnit: "U+D801", index: 0 });
    expect(findIllFormedString(42)).toBeNull();
  });
});

/**
 * `count` near misses of the seed times: one to four characters replaced, inserted or deleted,
 * from a seeded generator (the same strings on every run).
 */
function* nearMisses(seeds: readonly string[], count: number, seed: number): Generator<string> {
  const alphabet = "0123456789-:T.Zz+ t\u0660";
  let x = seed;
  const rand = (n: number) => (x = (x * 1103515245 + 12345) % 2147483648) % n;
  for (let n = 0; n < count; n++) {
    let t = seeds[rand(seeds.length)]!;
    for (let k = rand(4); k >= 0; k--) {
      const at = rand(t.length + 1);
      const c = alphabet[rand(alphabet.length)]!;
      const op = rand(3);
      t = op === 0 ? t.slice(0, at) + c + t.slice(at + 1) : op === 1 ? t.slice(0, at) + c + t.slice(at) : t.slice(0, at) + t.slice(at + 1);
    }
    yield t;
  }
}

describe("parseOffsetTime", () => {
  it("reads RFC 3339 times with an offset to the same instant Date.parse gives", () => {
    for (const t of [
      "2026-11-26T09:15:00+07:00",
      "2026-11-26T02:15:00Z",
      "2026-11-25T22:15:00-04:00",
      "2026-11-26T09:15:00.5+07:00",
      "2026-11-26T09:15:00.123456789z",
      "2028-02-29T23:59:59.999+00:00",
      "2026-11-26T09:15:00+15:59",
    ]) {
      expect(parseOffsetTime(t), t).toBe(Date.parse(t.replace(/z$/, "Z").replace(/(\.\d{3})\d+/, "$1")));
    }
    expect(parseOffsetTime("2026-11-26T09:15:00+07:00")).toBe(parseOffsetTime("2026-11-26T02:15:00Z"));
  });

  it("refuses a time without offset, an impossible date or field, and years outside 2000-2100", () => {
    for (const t of [
      "2026-11-26T09:15:00",
      "2026-11-26 09:15:00+07:00",
      "2026-02-29T00:00:00Z",
      "2026-04-31T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-11-26T24:00:00Z",
      "2026-11-26T09:60:00Z",
      "2026-11-26T09:15:00+24:00",
      "2026-11-26T09:15:00+16:00",
      "2026-11-26T09:15:00-16:00",
      "1999-12-31T23:59:59Z",
      "2101-01-01T00:00:00Z",
      "1764118500000",
      "",
    ]) {
      expect(parseOffsetTime(t), t).toBeNull();
    }
  });

  it("agrees with the regular-expression reading it replaced, on 200,000 near misses", () => {
    // The former implementation, kept here as the reference.
    const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|z|[+-](\d{2}):(\d{2}))$/;
    const reference = (value: string): number | null => {
      const m = rfc3339.exec(value);
      if (!m) return null;
      const [, ys, mos, ds, hs, mis, ss, frac, zone, ohs, oms] = m;
      const y = Number(ys),
        mo = Number(mos),
        d = Number(ds),
        h = Number(hs),
        mi = Number(mis),
        s = Number(ss);
      if (y < 2000 || y > 2100 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
      if (d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return null;
      let offsetMin = 0;
      if (zone !== "Z" && zone !== "z") {
        const oh = Number(ohs),
          om = Number(oms);
        if (oh > 15 || om > 59) return null;
        offsetMin = (zone!.startsWith("-") ? -1 : 1) * (oh * 60 + om);
      }
      const ms = frac ? Number(frac.slice(1, 4).padEnd(3, "0")) : 0;
      return Date.UTC(y, mo - 1, d, h, mi, s, ms) - offsetMin * 60_000;
    };
    const seeds = [
      "2026-11-26T09:15:00+07:00",
      "2000-02-29T23:59:59.9Z",
      "2100-02-28T00:00:00.123456789-15:59",
      "2024-12-31T12:30:45.12z",
      "2099-06-30T00:00:00+00:00",
    ];
    let accepted = 0;
    for (const t of nearMisses(seeds, 200_000, 7)) {
      const want = reference(t);
      if (want !== null) accepted++;
      if (parseOffsetTime(t) !== want) expect(parseOffsetTime(t), t).toBe(want);
    }
    // The mutations must reach both answers often, or the comparison proves little.
    expect(accepted).toBeGreaterThan(10_000);
    expect(accepted).toBeLessThan(190_000);
  });
});

describe("explainBadTime", () => {
  it("names what is wrong with a refused time", () => {
    const cases: [string, RegExp][] = [
      ["2026-11-26T09:15:00", /no offset: add Z \(UTC\) or ±hh:mm \(\+07:00 in Vietnam\)/],
      ["2026-11-26 09:15:00+07:00", /joined by "T", not " "/],
      ["2026-11-26t09:15:00Z", /joined by "T", not "t"/],
      ["2026-11-26T09:15+07:00", /no seconds/],
      ["2026-11-26T09:15:00.+07:00", /decimal point with no digits/],
      ["2026-11-26T09:15:00+0700", /offset "\+0700" is neither Z nor ±hh:mm/],
      ["2026-11-26T09:15:00 Z", /offset " Z" is neither/],
      ["2026-11-26T09:15:00+16:00", /offset \+16:00 is beyond ±15:59/],
      ["1999-12-31T23:59:59Z", /year 1999 is outside 2000–2100/],
      ["2026-13-01T00:00:00Z", /no month 13/],
      ["2026-02-29T00:00:00Z", /no day 29 in February 2026, which has 28 days/],
      ["2026-04-31T00:00:00Z", /no day 31 in April 2026, which has 30 days/],
      ["2026-11-00T00:00:00Z", /no day 00 in November 2026/],
      ["2026-11-26T24:00:00Z", /no hour 24/],
      ["2026-11-26T09:60:00Z", /no minute 60/],
      ["2026-12-31T23:59:60Z", /leap second \(:60\) is not accepted: send :59/],
      ["2026-11-26T09:15:61Z", /no second 61/],
      ["1764118500000", /not of the form YYYY-MM-DDTHH:MM:SS/],
      ["", /not of the form/],
    ];
    for (const [t, want] of cases) {
      expect(parseOffsetTime(keepMicroseconds(t)), t).toBeNull();
      expect(explainBadTime(keepMicroseconds(t)), t).toMatch(want);
    }
  });

  it("finds a reason for every time the fast reading refuses, on 200,000 near misses", () => {
    const seeds = [
      "2026-11-26T09:15:00+07:00",
      "2000-02-29T23:59:59.9Z",
      "2100-02-28T00:00:00.123456789-15:59",
      "2024-12-31T12:30:45.12z",
      "2026-11-26T09:15:00.1234567+07:00",
    ];
    let refused = 0;
    for (const t of nearMisses(seeds, 200_000, 11)) {
      // As decode reads it.
      const ts = keepMicroseconds(t);
      if (parseOffsetTime(ts) !== null) continue;
      refused++;
      const why = explainBadTime(ts);
      if (why === "it is not RFC 3339") expect(why, t).not.toBe("it is not RFC 3339");
    }
    expect(refused).toBeGreaterThan(10_000);
  });

  it("is what decode tells the producer; so are an empty payload and a bare null", () => {
    expect(decodeText("")).toMatchObject({ ok: false, reason: "bad_json", detail: "the payload is empty: send one JSON object" });
    expect(decodeText("null")).toMatchObject({ ok: false, reason: "bad_json", detail: "expected one JSON object, got null" });
    const r = decodeText(JSON.stringify({ ...egov, ts: "2026-02-29T10:00:00+07:00" }));
    expect(r).toMatchObject({
      ok: false,
      reason: "bad_time",
      detail: expect.stringMatching(
        /^ts "2026-02-29T10:00:00\+07:00" is not an RFC 3339 time with an offset: there is no day 29 in February 2026, which has 28 days; e\.g\. /,
      ),
    });
  });
});

describe("decode: printable text", () => {
  it("refuses a control character in a text field, whether escaped or a raw DEL, and takes a plain backslash", () => {
    for (const bad of ["a\u0000b", "line\nbreak", "tab\there", "bell\u0007", "del\u007f"]) {
      const r = decodeText(JSON.stringify({ ...egov, data: { ...egov.data, agency: bad } }));
      expect(r.ok, JSON.stringify(bad)).toBe(false);
      if (!r.ok) expect([r.reason, r.detail], JSON.stringify(bad)).toEqual(["bad_shape", expect.stringContaining("agency")]);
    }
    // DEL written raw (JSON.stringify leaves it unescaped), in the id.
    expect(JSON.stringify("x\u007f")).toBe('"x\u007f"');
    expect(decodeText(JSON.stringify({ ...egov, id: "x\u007f" })).ok).toBe(false);
    for (const good of ["back\\slash", 'say "hi"', "/slash", "ubnd-xã"]) {
      expect(decodeText(JSON.stringify({ ...egov, data: { ...egov.data, agency: good } })).ok, good).toBe(true);
    }
  });
});

describe("decode: unknown fields", () => {
  it("refuses a field the contract does not name, in the envelope or in data, and names every one", () => {
    const detail = (text: string) => {
      const r = decodeText(text);
      return r.ok ? "accepted" : `${r.reason}: ${r.detail}`;
    };
    expect(detail(JSON.stringify({ ...egov, extra: 1, more: 2 }))).toBe("bad_shape: The envelope contains forbidden keys: 'extra, more'.");
    expect(detail(JSON.stringify({ ...egov, data: { ...egov.data, note: "x" } }))).toBe(
      "bad_shape: The object 'data' contains forbidden keys: 'note'.",
    );
    // Beside a wrong type, every problem is told at once: the field, then data's, then the envelope's.
    expect(detail(JSON.stringify({ ...egov, extra: 1, data: { ...egov.data, agency: 5, note: "x" } }))).toBe(
      "bad_shape: The 'data.agency' field must be a string.; The object 'data' contains forbidden keys: 'note'.; The envelope contains forbidden keys: 'extra'.",
    );
    // Names the validator treats as its own, or that JSON.parse makes an own field of.
    expect(detail(JSON.stringify({ ...egov, data: { ...egov.data, $$type: "object" } }))).toBe(
      "bad_shape: The object 'data' contains forbidden keys: '$$type'.",
    );
    expect(detail(JSON.stringify(egov).replace('{"v":1', '{"__proto__":{"x":1},"v":1'))).toBe(
      "bad_shape: The envelope contains forbidden keys: '__proto__'.",
    );
    // `revision` is optional, not unknown.
    expect(detail(JSON.stringify({ ...egov, revision: 2 }))).toBe("accepted");
  });
});

// -----------------------------------------------------------------------------------------------
// The map through time. Expectations are read from seeds' JSON itself (not from the AreaMap the
// decoder uses), and "today" is the test's clock, never a literal day.

interface SeedArea {
  code: string;
  level: string;
  name_vi: string;
  former_district?: string;
  valid_from: string | null;
  valid_to: string | null;
}
const areasJson = JSON.parse(readFileSync(new URL("../../../seeds/data/areas.json", import.meta.url), "utf8")) as { areas: SeedArea[] };
const communesOf = (district: string) =>
  areasJson.areas
    .filter((a) => a.former_district === district)
    .sort((a, b) => a.code.localeCompare(b.code))
    .map((a) => `${a.code} ${a.name_vi}`);

const hour = 3_600_000;
/** `ms` as RFC 3339 in UTC+7, the way the province's producers write it. */
const at = (ms: number) => `${new Date(ms + 7 * hour).toISOString().slice(0, 19)}+07:00`;
/** The UTC+7 calendar day of `ms`. */
const dayOfMs = (ms: number) => new Date(ms + 7 * hour).toISOString().slice(0, 10);
const nowMs = Date.now();
const today = dayOfMs(nowMs);

/** Decodes one record of `feed` from `source` dated `ts`, received `receivedMs` (default: now). */
function judge(feed: string, source: string, rec: { area: string; ts: string; data: object }, receivedMs = nowMs) {
  const payload = new TextEncoder().encode(JSON.stringify({ v: 1, id: `${feed}-${rec.area}-${rec.ts}`, source, ...rec }));
  const r = decode({ subject: `feeds.${feed}.${source}`, payload, receivedMs });
  return r.ok ? { reason: "accepted", detail: "" } : { reason: r.reason as string, detail: r.detail };
}
const subscribers = (area: string, ts: string) => judge("subscribers", "viettel", { area, ts, data: { service: "mobile", count: 1 } });
const esign = (area: string, ts: string, agency = "so-khcn") =>
  judge("esign", "edoc", { area, ts, data: { agency, doc: "d1", signed: true, signer: "organization" } });
const egovStep = (area: string, ts: string, data: { agency?: string; level?: string; status?: string } = {}) =>
  judge("egov", "dvc", {
    area,
    ts,
    data: { procedure: "1.004227", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received", ...data },
  });

describe("decode: areas judged on the record's own UTC+7 day", () => {
  it("refuses a district dated today as retired_area, naming the communes that hold its ground today", () => {
    const yenThanh = communesOf("426");
    expect(yenThanh).toHaveLength(9);
    expect(subscribers("426", at(nowMs))).toEqual({
      reason: "retired_area",
      detail: `area 426 (Huyện Yên Thành) is not in force since 2025-07-01; on ${today} its ground is in ${yenThanh.join(", ")}: send the code of one of these`,
    });
    // bts, esign and egov are judged the same way.
    expect(judge("bts", "vinaphone", { area: "426", ts: at(nowMs), data: { station: "s1", tech: "4G", status: "up" } }).reason).toBe(
      "retired_area",
    );
    expect(esign("426", at(nowMs)).reason).toBe("retired_area");
    expect(egovStep("426", at(nowMs)).reason).toBe("retired_area");
  });

  it("resolves every step: Cửa Lò (413, merged into Vinh on 2025-01-01) dated today names Vinh's six wards", () => {
    const vinh = communesOf("412");
    expect(vinh.map((c) => c.split(" ")[0])).toEqual(["16681", "16690", "16702", "16708", "16732", "17920"]);
    expect(subscribers("413", at(nowMs))).toEqual({
      reason: "retired_area",
      detail: `area 413 (Thị xã Cửa Lò) is not in force since 2025-01-01; on ${today} its ground is in ${vinh.join(", ")}: send the code of one of these`,
    });
    // Between the two changes, 413's ground was in Vinh, the district.
    expect(subscribers("413", "2025-03-01T10:00:00+07:00")).toEqual({
      reason: "retired_area",
      detail:
        "area 413 (Thị xã Cửa Lò) is not in force since 2025-01-01; on 2025-03-01 its ground is in 412 Thành phố Vinh: send the code of one of these",
    });
    expect(subscribers("413", "2024-12-31T23:59:59+07:00").reason).toBe("accepted");
  });

  it("accepts a district on a day it was in force, up to its last UTC+7 day", () => {
    expect(subscribers("426", "2025-05-01T09:00:00+07:00").reason).toBe("accepted");
    expect(subscribers("426", "2025-06-30T23:59:59+07:00").reason).toBe("accepted");
    // 2025-06-30T17:00Z is already 1 July in UTC+7: the offset the producer wrote does not matter.
    expect(subscribers("426", "2025-06-30T16:59:59Z").reason).toBe("accepted");
    expect(subscribers("426", "2025-06-30T17:00:00Z").reason).toBe("retired_area");
  });

  it("accepts a commune dated today, and refuses one dated before 2025-07-01 as unknown_area, saying from when", () => {
    expect(subscribers("16732", at(nowMs)).reason).toBe("accepted");
    expect(subscribers("17506", "2025-07-01T00:00:00+07:00").reason).toBe("accepted");
    expect(subscribers("16732", "2025-06-30T23:59:59+07:00")).toEqual({
      reason: "unknown_area",
      detail:
        "area 16732 (Phường Cửa Lò) is in force from 2025-07-01, not on the record's date 2025-06-30: on that date its ground was in 412 Thành phố Vinh",
    });
    expect(subscribers("17506", "2025-05-01T09:00:00+07:00").detail).toBe(
      "area 17506 (Xã Yên Thành) is in force from 2025-07-01, not on the record's date 2025-05-01: on that date its ground was in 426 Huyện Yên Thành",
    );
  });

  it("refuses another province's code (and a near miss of ours) as unknown_area on any date", () => {
    // 380 is a district of Thanh Hóa, 14845 a commune there; "4120" and "040" are near misses.
    for (const area of ["380", "14845", "4120", "040"]) {
      for (const ts of [at(nowMs), "2025-05-01T09:00:00+07:00"]) {
        expect(subscribers(area, ts)).toEqual({
          reason: "unknown_area",
          detail: `area "${area}" is not a code of this province on any date: use the code of a commune or ward (seeds' areas.json)`,
        });
      }
    }
    expect(esign("380", at(nowMs)).detail).toBe(
      'area "380" is not a code of this province on any date: use the code of a commune or ward, or 40 for a provincial agency (seeds\' areas.json)',
    );
  });

  it("takes the province (40) from agencies, never from carriers (their total is the communes' sum)", () => {
    expect(esign("40", at(nowMs)).reason).toBe("accepted");
    expect(egovStep("40", at(nowMs), { level: "province", agency: "so-khcn" }).reason).toBe("accepted");
    expect(subscribers("40", at(nowMs))).toEqual({
      reason: "unknown_area",
      detail: "area 40 (the province) is not accepted for subscribers: report per commune or ward, as the province total is their sum",
    });
    expect(judge("bts", "vinaphone", { area: "40", ts: at(nowMs), data: { station: "s1", tech: "4G", status: "up" } }).reason).toBe(
      "unknown_area",
    );
    // Also before the cut-over.
    expect(subscribers("40", "2025-05-01T09:00:00+07:00").reason).toBe("unknown_area");
  });
});

describe("decode: agencies and the district level judged on the record's day", () => {
  it("refuses ubnd-huyen after 2025-06-30 and a merged department after 2025-02-28 as retired_agency, naming the successor", () => {
    expect(egovStep("17506", at(nowMs), { agency: "ubnd-huyen", level: "commune" })).toEqual({
      reason: "retired_agency",
      detail: "agency ubnd-huyen (UBND cấp huyện) ended on 2025-06-30; its work is with ubnd-xa (UBND cấp xã)",
    });
    expect(esign("40", at(nowMs), "so-tttt")).toEqual({
      reason: "retired_agency",
      detail: "agency so-tttt (Sở Thông tin và Truyền thông) ended on 2025-02-28; its work is with so-khcn (Sở Khoa học và Công nghệ)",
    });
    expect(esign("40", "2025-03-01T08:00:00+07:00", "so-gtvt").reason).toBe("retired_agency");
    // On their last day they are accepted; an id seeds do not list is taken as it comes.
    expect(esign("40", "2025-02-28T23:59:59+07:00", "so-tttt").reason).toBe("accepted");
    expect(egovStep("426", "2025-06-30T16:00:00+07:00", { agency: "ubnd-huyen", level: "district" }).reason).toBe("accepted");
    expect(esign("40", at(nowMs), "ban-chua-co-trong-seeds").reason).toBe("accepted");
  });

  it("refuses a dossier received at district level after 2025-06-30 as retired_level", () => {
    expect(egovStep("17506", "2025-07-02T09:00:00+07:00", { level: "district" })).toEqual({
      reason: "retired_level",
      detail: "level district ended on 2025-06-30: a dossier received after it is at commune or province level",
    });
    expect(egovStep("17506", at(nowMs), { level: "district" }).reason).toBe("retired_level");
  });

  it("accepts a dossier received 2025-06-30 at district level and resolved 2025-07-03 in its commune, until the grace ends", () => {
    // Received in the district (then in force), by the district's people's committee.
    expect(egovStep("426", "2025-06-30T10:00:00+07:00", { agency: "ubnd-huyen", level: "district" }).reason).toBe("accepted");
    // Resolved after the cut-over: the area is the commune in force that day; the step keeps its level.
    expect(egovStep("17506", "2025-07-03T15:00:00+07:00", { level: "district", status: "resolved_on_time" }).reason).toBe("accepted");
    expect(egovStep("17506", "2025-09-30T23:59:59+07:00", { level: "district", status: "resolved_late" }).reason).toBe("accepted");
    expect(egovStep("17506", "2025-10-01T00:00:00+07:00", { level: "district", status: "resolved_late" })).toEqual({
      reason: "retired_level",
      detail: "level district ended on 2025-06-30; later steps of dossiers received before it were taken until 2025-09-30",
    });
    // The district's own code is no longer in force on the resolution's day.
    expect(egovStep("426", "2025-07-03T15:00:00+07:00", { level: "district", status: "resolved_on_time" }).reason).toBe("retired_area");
  });

  it("judges a record near midnight UTC+7 on its own day, not the receipt's", () => {
    // Sent 23:59:59 on 30 June (UTC+7), received two minutes later, on 1 July: judged on 30 June.
    const ts = "2025-06-30T23:59:59+07:00";
    const received = Date.parse(ts) + 120_000;
    expect(judge("subscribers", "viettel", { area: "426", ts, data: { service: "mobile", count: 1 } }, received).reason).toBe("accepted");
    expect(judge("subscribers", "viettel", { area: "17506", ts, data: { service: "mobile", count: 1 } }, received).reason).toBe(
      "unknown_area",
    );
  });
});
