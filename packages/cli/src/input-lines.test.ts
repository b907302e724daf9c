import { describe, expect, it } from "vitest";
import { parseLines } from "./input-lines";
import { judgeLines } from "./judge-lines";
import { parseLocalDay, parseWhen } from "./time-args";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("the line format", () => {
  it("with --feed/--source: each line is the payload byte for byte; blank lines counted, CRLF and a leading BOM dropped", () => {
    const input = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from('{"a": 1}\r\n\r\n  \nnot json\n{"b":\t2}'),
      Buffer.from([0xff, 0x0a]),
    ]);
    const r = parseLines(input, { feed: "egov", source: "dvc" });
    expect(r.map((x) => [x.line, x.subject, text(x.payload)])).toEqual([
      [1, "feeds.egov.dvc", '{"a": 1}'],
      [4, "feeds.egov.dvc", "not json"],
      [5, "feeds.egov.dvc", '{"b":\t2}\uFFFD'],
    ]);
    // Bytes that are not UTF-8 travel as they are.
    expect([...r[2]!.payload.slice(-1)]).toEqual([0xff]);
  });

  it("without them: the subject comes out of the record, raw gives exact bytes, and lines that name none are refused", () => {
    const lines = [
      JSON.stringify({ v: 1, subject: "feeds.esign.edoc", id: "x" }),
      JSON.stringify({ subject: "feeds.egov.dvc", raw: " {not json" }),
      JSON.stringify({ v: 1, id: "y" }),
      "[1, 2]",
      "{broken",
    ].join("\n");
    const r = parseLines(Buffer.from(lines), null);
    expect(r.map((x) => [x.subject, text(x.payload), x.unsendable?.reason ?? null])).toEqual([
      ["feeds.esign.edoc", '{"v":1,"id":"x"}', null],
      ["feeds.egov.dvc", " {not json", null],
      [null, '{"v":1,"id":"y"}', "bad_subject"],
      [null, "[1, 2]", "bad_json"],
      [null, "{broken", "bad_json"],
    ]);
  });

  it("judges a restatement as ok, a repeat or lower revision as a duplicate, another feed's id as id_conflict", () => {
    const rec = (subject: string, id: string, revision: number, data: object) =>
      JSON.stringify({ subject, v: 1, id, source: subject.split(".")[2], ts: "2026-11-26T09:15:00+07:00", area: "16681", revision, data });
    const sub = { service: "mobile", count: 5 };
    const bts = { station: "S", tech: "4G", status: "up" };
    const input = [
      rec("feeds.subscribers.viettel", "a", 0, sub),
      rec("feeds.subscribers.viettel", "a", 2, sub),
      rec("feeds.subscribers.viettel", "a", 1, sub),
      rec("feeds.bts.viettel", "a", 3, bts),
      rec("feeds.subscribers.mobifone", "a", 0, sub),
    ].join("\n");
    const v = judgeLines(parseLines(Buffer.from(input), null), { maxBytes: 65_536, maxFutureMs: 300_000, receivedMs: Date.now() });
    expect(v.map((x) => x.reason ?? x.status)).toEqual(["ok", "ok", "duplicate", "id_conflict", "ok"]);
  });
});

describe("times on the command line", () => {
  it("reads days at UTC+7 midnight, times with an offset, and ages", () => {
    expect(new Date(parseLocalDay("2026-11-26", "--from")).toISOString()).toBe("2026-11-25T17:00:00.000Z");
    expect(() => parseLocalDay("2026-02-29", "--from")).toThrow(/--from must be a day YYYY-MM-DD/);
    expect(parseWhen("2026-11-26T09:15:00+07:00", "--since").toISOString()).toBe("2026-11-26T02:15:00.000Z");
    expect(parseWhen("3d", "--since", 1_000_000_000_000).getTime()).toBe(1_000_000_000_000 - 3 * 86_400_000);
    expect(() => parseWhen("2026-11-26 09:15", "--since")).toThrow(/--since must be a day/);
  });
});
