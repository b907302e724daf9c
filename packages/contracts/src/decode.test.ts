import { describe, expect, it } from "vitest";
import { decode, explainBadTime, keepMicroseconds, parseOffsetTime } from "./decode";
import { findIllFormedString } from "./well-formed";

const receivedMs = Date.parse("2026-11-26T09:15:00+07:00");
const egov = {
  v: 1,
  id: "H40.12-2611-0042:received",
  source: "dvc",
  ts: "2026-11-26T09:15:00+07:00",
  area: "412",
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
