/**
 * The HTTPS door end to end: curl POSTs to the door, the door publishes into scratch streams, a
 * real ingest settles them into a scratch database, and the answer is ingest's verdict per line.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { connect } from "node:net";
import { nanos, jetstreamManager, feedStream } from "@pulse/nats";
import { feeds } from "@pulse/contracts";
import { runPulse } from "@pulse/cli/testing";
import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl, post, startDoor, type Door } from "./support/feeds-http";

const sub = (id: string, count: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    v: 1,
    id,
    source: "viettel",
    ts: "2026-11-26T09:15:00+07:00",
    area: "16681",
    data: { service: "mobile", count },
    ...extra,
  });

let h: Harness;
let d: Door;
let n = 0;
/** Writes `body` to a fresh file in the door's temp dir; returns its path. */
const file = (body: string | Buffer) => {
  const p = join(d.dir, `body-${++n}`);
  writeFileSync(p, body);
  return p;
};
const outcomes = (j: { results: { line: number; outcome: string; reason?: string }[] }) =>
  j.results.map((r) => [r.line, r.outcome, r.reason ?? null]);

beforeAll(async () => {
  h = await ingestHarness("feeds_http");
  // JetStream's duplicate window shortened to 1 s: "after the window" is a second away.
  const jsm = await jetstreamManager(h.nc);
  for (const f of feeds) {
    const info = await jsm.streams.info(feedStream(h.names, f));
    await jsm.streams.update(info.config.name, { ...info.config, duplicate_window: nanos(1_000) });
  }
  d = await startDoor(h, ["viettel", "mobifone", "edoc"], { FEEDS_HTTP_SETTLE_MS: "10000" });
});
afterAll(async () => {
  await d?.close();
  await h?.close();
});

describe("POST /v1/feeds/{feed}", () => {
  it("takes NDJSON, a JSON array and gzip, and answers ingest's verdict per line", async () => {
    const nd = await curl(post(d, "subscribers", d.tokens.viettel!, file([sub("nd-1", 1), "", sub("nd-2", 2)].join("\n") + "\n")));
    expect(nd.status).toBe(200);
    expect(nd.json).toEqual({
      accepted: 2,
      duplicate: 0,
      refused: 0,
      unsettled: 0,
      not_sent: 0,
      results: [
        { line: 1, id: "nd-1", outcome: "accepted" },
        { line: 3, id: "nd-2", outcome: "accepted" },
      ],
    });
    expect(Object.keys(nd.json)).toEqual(["accepted", "duplicate", "refused", "unsettled", "not_sent", "results"]);

    const arr = await curl(
      post(d, "subscribers", d.tokens.viettel!, file(`[ ${sub("js-1", 3)},\n ${sub("js-2", 4)} ]`), "application/json"),
    );
    expect(arr.status).toBe(200);
    expect(outcomes(arr.json)).toEqual([
      [1, "accepted", null],
      [2, "accepted", null],
    ]);

    const gz = await curl(
      post(d, "subscribers", d.tokens.viettel!, file(gzipSync([sub("gz-1", 5), sub("gz-2", 6)].join("\r\n"))), "application/x-ndjson", [
        "-H",
        "Content-Encoding: gzip",
      ]),
    );
    expect(gz.status).toBe(200);
    expect(outcomes(gz.json)).toEqual([
      [1, "accepted", null],
      [2, "accepted", null],
    ]);
    // Chunked (no Content-Length) reads the same.
    const chunked = await curl(
      post(d, "subscribers", d.tokens.viettel!, file(sub("ch-1", 7) + "\n"), "application/x-ndjson", ["-H", "Transfer-Encoding: chunked"]),
    );
    expect(chunked.status).toBe(200);
    expect(chunked.json.accepted).toBe(1);
    await h.settle();
    expect(await h.count("events", "source = 'viettel'")).toBe(7);
  });

  it("a mixed file: good, refused for several reasons, duplicates, a foreign source — exact verdicts, each good line once on retries", async () => {
    const lines = [
      sub("mx-1", 10), // 1 accepted
      "{not json", // 2 bad_json
      sub("mx-2", 10, { data: { service: "mobile" } }), // 3 bad_shape
      sub("mx-3", 10, { ts: "2026-02-29T10:00:00+07:00" }), // 4 bad_time
      sub("mx-4", 10, { area: "999" }), // 5 unknown_area
      sub("mx-5", 10, { source: "mobifone" }), // 6 source_mismatch: the subject's source is the token's
      sub("mx-1", 10), // 7 duplicate: the same Msg-Id as line 1 (JetStream's call)
      sub("mx-6", 11, { revision: 2 }), // 8 accepted
      sub("mx-6", 12, { revision: 1 }), // 9 duplicate: a lower revision (ingest's call)
      "", // 10 blank: skipped
      sub("mx-7", 13), // 11 accepted
      sub("mx-8", 14, { area: "426" }), // 12 retired_area: Yên Thành, a district until 2025-06-30
    ];
    const body = file(lines.join("\n"));
    const expected = [
      [1, "accepted", null],
      [2, "refused", "bad_json"],
      [3, "refused", "bad_shape"],
      [4, "refused", "bad_time"],
      [5, "refused", "unknown_area"],
      [6, "refused", "source_mismatch"],
      [7, "duplicate", null],
      [8, "accepted", null],
      [9, "duplicate", null],
      [11, "accepted", null],
      [12, "refused", "retired_area"],
    ];
    const first = await curl(post(d, "subscribers", d.tokens.viettel!, body));
    expect(first.status).toBe(200);
    expect(outcomes(first.json)).toEqual(expected);
    expect(first.json).toMatchObject({ accepted: 3, duplicate: 2, refused: 6, unsettled: 0, not_sent: 0 });
    expect(first.json.results[3].detail).toMatch(/no day 29 in February 2026/);
    expect(first.json.results[5].detail).toMatch(/mobifone/);
    expect(first.json.results[10].detail).toMatch(
      /^area 426 \(Huyện Yên Thành\) is not in force since 2025-07-01; on 2026-11-26 its ground is in 17506 Xã Yên Thành, /,
    );
    await h.settle();
    const letters = await h.count("dead_letters");
    const figures = await h.figures();

    // The same POST again, within JetStream's window: no good line counts twice; the refused are refused again.
    const again = await curl(post(d, "subscribers", d.tokens.viettel!, body));
    expect(again.status).toBe(200);
    expect(outcomes(again.json)).toEqual(expected.map(([l, o, r]) => [l, o === "accepted" ? "duplicate" : o, r]));
    // And after the window (1 s in these streams): ingest's own (source, id, revision) check.
    await new Promise((r) => setTimeout(r, 1_500));
    const late = await curl(post(d, "subscribers", d.tokens.viettel!, body));
    expect(late.status).toBe(200);
    expect(outcomes(late.json)).toEqual(expected.map(([l, o, r]) => [l, o === "accepted" ? "duplicate" : o, r]));
    expect(late.json.results[0].detail).toMatch(/ingest already held revision 0/);
    await h.settle();
    expect(await h.figures()).toEqual({ ...figures, deadLetters: expect.anything() });
    expect(await h.count("events", "id LIKE 'mx-%'")).toBe(3);
    // Past the window, ingest sees the refused lines again and stores them again: they are new messages.
    expect(await h.count("dead_letters")).toBeGreaterThanOrEqual(letters);

    // A corrected resend of a refused line lands (its refused Msg-Id did not take the good one's).
    const fixed = await curl(post(d, "subscribers", d.tokens.viettel!, file(sub("mx-4", 10))));
    expect(outcomes(fixed.json)).toEqual([[1, "accepted", null]]);
  });

  it("a token speaks for its own source only, to its own feeds", async () => {
    const r = await curl(post(d, "esign", d.tokens.viettel!, file(sub("x", 1))));
    expect(r.status).toBe(403);
    expect(r.json.error).toMatch(/viettel is not registered for esign: its feeds are subscribers, bts/);
    // mobifone's token, a viettel record: refused source_mismatch, stored under mobifone.
    const m = await curl(post(d, "subscribers", d.tokens.mobifone!, file(sub("forged-1", 999))));
    expect(outcomes(m.json)).toEqual([[1, "refused", "source_mismatch"]]);
    await h.settle();
    expect(await h.count("events", "id = 'forged-1'")).toBe(0);
  });

  it("answers every refusal a client can act on", async () => {
    const ok = file(sub("e-1", 1));
    const at = (feed: string) => `${d.url}/v1/feeds/${feed}`;
    const auth = ["-H", `Authorization: Bearer ${d.tokens.viettel}`];
    const nd = ["-H", "Content-Type: application/x-ndjson"];

    const none = await curl(["-X", "POST", ...nd, "--data-binary", `@${ok}`, at("subscribers")]);
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toMatch(/Bearer/);
    const wrong = await curl(["-X", "POST", "-H", "Authorization: Bearer pulse_nope", ...nd, "--data-binary", `@${ok}`, at("subscribers")]);
    expect(wrong.status).toBe(401);
    expect(wrong.json.error).toBe("unknown token");

    const unknown = await curl(["-X", "POST", ...auth, ...nd, "--data-binary", `@${ok}`, at("weather")]);
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toMatch(/the feeds are subscribers, bts, esign, egov/);

    const get = await curl([...auth, at("subscribers")]);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe("POST");

    const csv = await curl(["-X", "POST", ...auth, "-H", "Content-Type: text/csv", "--data-binary", `@${ok}`, at("subscribers")]);
    expect(csv.status).toBe(415);
    const br = await curl(["-X", "POST", ...auth, ...nd, "-H", "Content-Encoding: br", "--data-binary", `@${ok}`, at("subscribers")]);
    expect(br.status).toBe(415);

    const big = await curl(["-X", "POST", ...auth, ...nd, "-H", "Content-Length: 99999999", "--data-binary", `@${ok}`, at("subscribers")]);
    expect(big.status).toBe(413);

    const notArray = await curl([
      "-X",
      "POST",
      ...auth,
      "-H",
      "Content-Type: application/json",
      "--data-binary",
      `@${ok}`,
      at("subscribers"),
    ]);
    expect(notArray.status).toBe(400);
    expect(notArray.json.error).toMatch(/must be a JSON array/);

    // 411: a body with neither Content-Length nor chunking (curl always sends one: a raw socket).
    const raw = await new Promise<string>((resolve, reject) => {
      const s = connect(d.door.port, "127.0.0.1", () => {
        s.write(
          `POST /v1/feeds/subscribers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.tokens.viettel}\r\nContent-Type: application/x-ndjson\r\n\r\n`,
        );
      });
      let got = "";
      s.on("data", (b) => (got += b.toString()));
      s.on("close", () => resolve(got));
      s.on("error", reject);
    });
    expect(raw).toMatch(/^HTTP\/1.1 411/);
  });

  it("429 with Retry-After past the source's rate", async () => {
    const slow = await startDoor(h, ["vinaphone"], { FEEDS_HTTP_RATE: "3" });
    try {
      const body = file([1, 2, 3, 4, 5].map((i) => sub(`rt-${i}`, i, { source: "vinaphone" })).join("\n"));
      const first = await curl(post(slow, "subscribers", slow.tokens.vinaphone!, body));
      expect(first.status).toBe(200);
      const second = await curl(post(slow, "subscribers", slow.tokens.vinaphone!, body));
      expect(second.status).toBe(429);
      expect(Number(second.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    } finally {
      await slow.close();
    }
  });

  it("no tokens file: every request refused", async () => {
    const shut = await startDoor(h, [], {}, { tokensFile: undefined });
    try {
      const r = await curl(post(shut, "subscribers", "pulse_anything", file(sub("t", 1))));
      expect(r.status).toBe(401);
      expect(r.json.error).toMatch(/FEEDS_HTTP_TOKENS_FILE is not set/);
      expect(shut.door.tokens).toBe(0);
    } finally {
      await shut.close();
    }
  });

  it("takes a token made by `pulse token new`, re-reading the tokens file when it changes", async () => {
    const made = await runPulse(["token", "new", "--source", "edoc", "--json"], {});
    expect(made.code).toBe(0);
    const { token: t, tokens_file_line: line } = made.json();
    expect(line).toMatch(/^edoc sha256:[0-9a-f]{64}$/);
    const before = await curl(post(d, "esign", t, file("{}")));
    expect(before.status).toBe(401);
    const { appendFileSync } = await import("node:fs");
    appendFileSync(d.tokensFile, line + "\n");
    await new Promise((r) => setTimeout(r, 1_100));
    const esign = JSON.stringify({
      v: 1,
      id: "doc-1",
      source: "edoc",
      ts: "2026-11-26T09:00:00+07:00",
      area: "40",
      data: { agency: "so-khcn", doc: "1/QĐ", signed: true, signer: "organization" },
    });
    const after = await curl(post(d, "esign", t, file(esign)));
    expect(after.status).toBe(200);
    expect(outcomes(after.json)).toEqual([[1, "accepted", null]]);
  });
});

describe("GET /v1/status", () => {
  it("shows the token's source its feeds and last day's dead letters by reason, and nothing of another's", async () => {
    const r = await curl(["-H", `Authorization: Bearer ${d.tokens.viettel}`, `${d.url}/v1/status`]);
    expect(r.status).toBe(200);
    expect(r.json.source).toBe("viettel");
    expect(r.json.feeds.map((f: { feed: string }) => f.feed).sort()).toEqual(["bts", "subscribers"]);
    const s = r.json.feeds.find((f: { feed: string }) => f.feed === "subscribers");
    expect(s.last_received_at).not.toBeNull();
    expect(["fresh", "late", "silent", "pipeline_behind"]).toContain(s.state);
    expect(r.json.dead_letters_last_day).toMatchObject({ bad_json: expect.any(Number), bad_shape: expect.any(Number) });
    const m = await curl(["-H", `Authorization: Bearer ${d.tokens.mobifone}`, `${d.url}/v1/status`]);
    expect(m.json.source).toBe("mobifone");
    // mobifone's own refusal (the forged line) is its own; viettel's are not shown to it.
    expect(m.json.dead_letters_last_day).toEqual({ source_mismatch: 1 });
    const none = await curl([`${d.url}/v1/status`]);
    expect(none.status).toBe(401);
  });
});

describe("ingest behind", () => {
  it("503 with Retry-After while the feed's consumer is behind (contracts' pipelineBehindJudge)", async () => {
    const behind = await startDoor(h, ["viettel"], { EXPORTER_BEHIND_PENDING: "5", FEEDS_HTTP_SETTLE_MS: "2000" });
    try {
      await h.stopIngest();
      for (let i = 0; i < 6; i++)
        await h.publish("subscribers", "viettel", { id: `bh-${i}`, area: "16681", data: { service: "mobile", count: i } });
      // The door reads the consumers once a second while it waits for nothing.
      await new Promise((res) => setTimeout(res, 1_500));
      let r;
      for (const until = Date.now() + 5_000; ;) {
        r = await curl(post(behind, "subscribers", behind.tokens.viettel!, file(sub("bh-x", 1))));
        if (r.status === 503 || Date.now() > until) break;
        await new Promise((res) => setTimeout(res, 200));
      }
      expect(r.status).toBe(503);
      expect(r.json.error).toMatch(/ingest is behind on subscribers/);
      expect(r.headers["retry-after"]).toBe("10");
      // Another feed is not held up.
      const bts = JSON.stringify({
        v: 1,
        id: "bh-b",
        source: "viettel",
        ts: "2026-11-26T09:15:00+07:00",
        area: "16681",
        data: { station: "S", tech: "4G", status: "up" },
      });
      await h.startIngest();
      const ok = await curl(post(behind, "bts", behind.tokens.viettel!, file(bts)));
      expect(ok.status).toBe(200);
    } finally {
      await behind.close();
    }
  });
});
