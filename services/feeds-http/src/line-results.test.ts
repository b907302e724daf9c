import { describe, expect, it } from "vitest";
import { LineResults, type LineResult } from "./line-results";

describe("LineResults", () => {
  it("answers exactly what was pushed, sorted by line, with details put back together", () => {
    const pushed: [LineResult, number?][] = [];
    for (let line = 3000; line >= 1; line--) {
      const id = `rec-${line}`;
      const k = line % 6;
      if (k === 0) pushed.push([{ line, id, outcome: "accepted" }]);
      else if (k === 1) pushed.push([{ line, id, outcome: "duplicate", detail: `JetStream already has Msg-Id dvc:${id}:0` }]);
      else if (k === 2)
        pushed.push([
          { line, id, outcome: "unsettled", detail: `stored by JetStream (stream FEEDS_5_EGOV sequence ${line * 7}) but not judged` },
          line * 7,
        ]);
      else if (k === 3) pushed.push([{ line, outcome: "refused", reason: "bad_json", detail: "Unexpected token \u0001 in JSON" }]);
      else if (k === 4)
        pushed.push([{ line, id: "é\u0002", outcome: "refused", reason: "unknown_area", detail: `area of é\u0002 ${line}` }]);
      else pushed.push([{ line, id: "", outcome: "not_sent", detail: "not sent: NATS failed at line 5" }]);
    }
    const r = new LineResults();
    for (const [x, seq] of pushed) r.push(x, seq);
    const body = JSON.parse([...r.chunks({ error: "cut" }, 1024)].join(""));
    expect(body.error).toBe("cut");
    expect(body.results).toEqual(pushed.map(([x]) => x).sort((a, b) => a.line - b.line));
    expect(body.accepted + body.duplicate + body.unsettled + body.refused + body.not_sent).toBe(3000);
    expect(r.lastLine).toBe(3000);
  });

  it("keeps ids across pages, long ids apart, and lines pushed in order unsorted", () => {
    const r = new LineResults();
    const pushed: LineResult[] = [];
    for (let line = 1; line <= 20_000; line++) {
      // Ids of uneven lengths so that some would straddle a 64 KiB page; now and then a long one.
      const id = line % 997 === 0 ? "x".repeat(3000) + line : `id-${"é".repeat(line % 13)}-${line}`;
      const x: LineResult = line % 5 === 0 ? { line, id, outcome: "duplicate", detail: `dup of ${id}` } : { line, id, outcome: "accepted" };
      pushed.push(x);
      r.push(x);
    }
    const body = JSON.parse([...r.chunks({})].join(""));
    expect(body.results).toEqual(pushed);
    expect(body.accepted).toBe(16_000);
  });

  it("answers an empty request", () => {
    expect(JSON.parse([...new LineResults().chunks({})].join(""))).toEqual({
      accepted: 0,
      duplicate: 0,
      refused: 0,
      unsettled: 0,
      not_sent: 0,
      results: [],
    });
  });
});
