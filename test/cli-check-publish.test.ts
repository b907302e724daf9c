import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reasonCodes } from "@pulse/contracts";
import { runPulse } from "@pulse/cli/testing";
import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// `check` (offline) and `publish` (for real, through the running ingest) must say the same of
// every line of one file: one record of each reason a record can cause, good ones, restatements
// and duplicates.
const egov = (id: string, extra: Record<string, unknown> = {}) => ({
  subject: "feeds.egov.dvc",
  v: 1,
  id,
  source: "dvc",
  ts: "2026-11-26T09:15:00+07:00",
  area: "16681",
  data: { procedure: "1.004227", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received" },
  ...extra,
});
const hour = 3_600_000;
/** A minute ago on this test's clock, written in UTC+7. */
const now = `${new Date(Date.now() - 60_000 + 7 * hour).toISOString().slice(0, 19)}+07:00`;
const sub = (id: string, area: string, ts: string) => ({
  subject: "feeds.subscribers.viettel",
  v: 1,
  id,
  source: "viettel",
  ts,
  area,
  data: { service: "mobile", count: 10 },
});
const esign = (id: string, agency: string) => ({
  subject: "feeds.esign.edoc",
  v: 1,
  id,
  source: "edoc",
  ts: "2026-11-26T09:00:00+07:00",
  area: "40",
  data: { agency, doc: `${id}/QĐ`, signed: true, signer: "organization" },
});
const dossier = { procedure: "1.004227", agency: "ubnd-huyen", level: "district", channel: "in_person", status: "received" };
const lines: unknown[] = [
  egov("g1"), // 1 ok
  {
    subject: "feeds.esign.edoc",
    v: 1,
    id: "d1",
    source: "edoc",
    ts: "2026-11-26T09:00:00+07:00",
    area: "40",
    data: { agency: "so-khcn", doc: "1/QĐ", signed: true, signer: "organization" },
  }, // 2 ok
  { subject: "feeds.egov.dvc", raw: "{not json" }, // 3 bad_json
  egov("g3", { data: { procedure: "1.004227", level: "commune", channel: "online_full", status: "received" } }), // 4 bad_shape
  { ...egov("g4"), subject: "feeds.weather.dvc" }, // 5 bad_subject
  { ...egov("g5", { source: "nobody" }), subject: "feeds.egov.nobody" }, // 6 unknown_source
  { ...egov("g6", { source: "viettel" }), subject: "feeds.egov.viettel" }, // 7 feed_not_allowed
  egov("g7", { source: "edoc" }), // 8 source_mismatch
  egov("g8", { data: { procedure: "x".repeat(70_000), agency: "a", level: "commune", channel: "online_full", status: "received" } }), // 9 too_large
  egov("g9", { ts: "2026-02-29T10:00:00+07:00" }), // 10 bad_time
  egov("g10", { ts: "2030-01-01T00:00:00+07:00" }), // 11 future_time
  egov("g11", { area: "999" }), // 12 unknown_area
  {
    subject: "feeds.subscribers.viettel",
    v: 1,
    id: "v1",
    source: "viettel",
    ts: "2026-11-26T09:00:00+07:00",
    area: "16681",
    data: { service: "mobile", count: 10 },
  }, // 13 ok
  {
    subject: "feeds.bts.viettel",
    v: 1,
    id: "v1",
    source: "viettel",
    ts: "2026-11-26T09:00:00+07:00",
    area: "16681",
    data: { station: "S1", tech: "4G", status: "up" },
  }, // 14 id_conflict
  egov("g1"), // 15 duplicate (the same Msg-Id as line 1)
  egov("g2", { revision: 1 }), // 16 ok
  egov("g2", { revision: 0 }), // 17 duplicate (a lower revision: a new Msg-Id, so ingest's call)
  egov("g1", {
    revision: 1,
    data: { procedure: "1.004227", agency: "ubnd-xa", level: "commune", channel: "in_person", status: "received" },
  }), // 18 ok: a restatement
  {
    subject: "feeds.bts.viettel",
    v: 1,
    id: "b1",
    source: "viettel",
    ts: "2026-11-26T09:00:00+07:00",
    area: "16732",
    data: { station: "S2", tech: "5G", status: "down" },
  }, // 19 ok
  // The map through time, each judged on the record's own UTC+7 day ("now" is this test's clock).
  sub("a20", "426", now), // 20 retired_area: Yên Thành is communes today
  { ...sub("a21", "413", now), subject: "feeds.bts.viettel", data: { station: "S3", tech: "4G", status: "up" } }, // 21 retired_area
  sub("a22", "16732", "2025-06-30T12:00:00+07:00"), // 22 unknown_area: a ward before it existed
  sub("a23", "40", now), // 23 unknown_area: the province is the communes' sum
  { ...esign("e24", "so-tttt"), ts: now }, // 24 retired_agency
  egov("g25", { ts: now, data: { ...dossier, agency: "ubnd-huyen", level: "commune" } }), // 25 retired_agency
  egov("g26", { area: "17506", ts: "2025-07-02T09:00:00+07:00", data: { ...dossier, agency: "ubnd-xa" } }), // 26 retired_level
  sub("a27", "426", "2025-05-01T09:00:00+07:00"), // 27 ok: the district, when it was one
  egov("H40.26-0001:received", { area: "426", ts: "2025-06-30T10:00:00+07:00", data: dossier }), // 28 ok
  egov("H40.26-0001:resolved_on_time", {
    area: "17506",
    ts: "2025-07-03T15:00:00+07:00",
    data: { ...dossier, agency: "ubnd-xa", status: "resolved_on_time" },
  }), // 29 ok: resolved in its commune within the district level's grace
  { ...esign("e30", "so-khcn"), ts: now }, // 30 ok
];
const expected: [string, string | undefined][] = [
  ["ok", undefined],
  ["ok", undefined],
  ["refused", "bad_json"],
  ["refused", "bad_shape"],
  ["refused", "bad_subject"],
  ["refused", "unknown_source"],
  ["refused", "feed_not_allowed"],
  ["refused", "source_mismatch"],
  ["refused", "too_large"],
  ["refused", "bad_time"],
  ["refused", "future_time"],
  ["refused", "unknown_area"],
  ["ok", undefined],
  ["refused", "id_conflict"],
  ["duplicate", undefined],
  ["ok", undefined],
  ["duplicate", undefined],
  ["ok", undefined],
  ["ok", undefined],
  ["refused", "retired_area"],
  ["refused", "retired_area"],
  ["refused", "unknown_area"],
  ["refused", "unknown_area"],
  ["refused", "retired_agency"],
  ["refused", "retired_agency"],
  ["refused", "retired_level"],
  ["ok", undefined],
  ["ok", undefined],
  ["ok", undefined],
  ["ok", undefined],
];

describe("pulse check and pulse publish", () => {
  let h: Harness;
  let env: Record<string, string>;
  let file: string;
  beforeAll(async () => {
    h = await ingestHarness("cli_pub");
    env = { DATABASE_URL: h.database.url, NATS_URL: h.config.natsUrl, PULSE_NAMESPACE: h.names.namespace! };
    file = join(mkdtempSync(join(tmpdir(), "pulse-cli-")), "records.jsonl");
    // A blank line and CRLF line ends are part of the format.
    writeFileSync(
      file,
      lines
        .map((l) => JSON.stringify(l))
        .join("\r\n")
        .replace("\r\n", "\r\n\r\n") + "\n",
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it("check: every record-caused reason code, duplicates and good lines, offline", async () => {
    // Every reason a record itself can cause; the other two are about the pipeline, not the record.
    expect(new Set(expected.map((e) => e[1]).filter(Boolean))).toEqual(
      new Set(reasonCodes.filter((r) => r !== "max_deliveries" && r !== "db_rejected")),
    );
    const r = await runPulse(["check", file, "--json"], { PATH: "" });
    expect(r.code).toBe(1);
    const out = r.json();
    expect(out.lines.map((l: { status: string; reason?: string }) => [l.status, l.reason])).toEqual(expected);
    // Line numbers are the file's (line 2 is blank).
    expect(out.lines[0].line).toBe(1);
    expect(out.lines[1].line).toBe(3);
    expect(out.summary).toMatchObject({ total: 30, ok: 10, duplicate: 2, refused: 18 });
    expect(out.lines[9].detail).toMatch(/no day 29 in February 2026/);
    expect(out.lines[13].detail).toBe('id "v1" of viettel is already a subscribers record');
    const text = await runPulse(["check", file], {});
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('line 11: refused bad_time: ts "2026-02-29T10:00:00+07:00" is not an RFC 3339 time');
    expect(text.stdout).toMatch(/^30 lines: 10 ok, 2 duplicate, 18 refused \(bad_json 1, /m);
  });

  it("publish: the same verdict as check on every line, from JetStream and ingest", async () => {
    const c = (await runPulse(["check", file, "--json"], env)).json();
    const p = await runPulse(["publish", file, "--json", "--timeout", "40"], env);
    expect(p.code, p.stderr).toBe(1);
    const out = p.json();
    const asCheck = (s: string) => (s === "accepted" ? "ok" : s);
    expect(out.lines.map((l: { status: string; reason?: string }) => [asCheck(l.status), l.reason])).toEqual(
      c.lines.map((l: { status: string; reason?: string }) => [l.status, l.reason]),
    );
    expect(out.summary).toMatchObject({ ok: 10, duplicate: 2, refused: 18, unsettled: 0 });
    // Who said so: the repeat of line 1 was dropped by JetStream; the lower revision by ingest.
    expect(out.lines[14]).toMatchObject({ status: "duplicate", by: "jetstream" });
    expect(out.lines[16]).toMatchObject({ status: "duplicate", by: "ingest" });
    expect(out.lines[4]).toMatchObject({ status: "refused", by: "cli" });
    expect(out.lines[11]).toMatchObject({ status: "refused", by: "ingest", reason: "unknown_area" });
    // The database agrees: the accepted records are there, at their latest revision.
    const rows = (await h.db.pool.query("SELECT source, id, revision FROM events ORDER BY 1, 2")).rows;
    expect(rows).toEqual([
      { source: "dvc", id: "H40.26-0001:received", revision: 0 },
      { source: "dvc", id: "H40.26-0001:resolved_on_time", revision: 0 },
      { source: "dvc", id: "g1", revision: 1 },
      { source: "dvc", id: "g2", revision: 1 },
      { source: "edoc", id: "d1", revision: 0 },
      { source: "edoc", id: "e30", revision: 0 },
      { source: "viettel", id: "a27", revision: 0 },
      { source: "viettel", id: "b1", revision: 0 },
      { source: "viettel", id: "v1", revision: 0 },
    ]);
    // The refusals of the map through time: the same reason and the same detail from ingest as from check.
    for (let i = 19; i < 26; i++) {
      expect([out.lines[i].by, out.lines[i].reason, out.lines[i].detail], `line ${i + 2}`).toEqual([
        "ingest",
        c.lines[i].reason,
        c.lines[i].detail,
      ]);
    }
    expect(out.lines[19].detail).toMatch(
      /^area 426 \(Huyện Yên Thành\) is not in force since 2025-07-01; on .* its ground is in 17506 Xã Yên Thành, /,
    );
    expect(out.lines[20].detail).toMatch(
      /its ground is in 16681 Phường Thành Vinh, .*, 17920 Phường Vinh Hưng: send the code of one of these$/,
    );
    expect(out.lines[21].detail).toMatch(/^area 16732 \(Phường Cửa Lò\) is in force from 2025-07-01, not on the record's date 2025-06-30/);
    const dl = (await h.db.pool.query("SELECT reason, count(*)::int AS n FROM dead_letters GROUP BY 1 ORDER BY 1")).rows;
    expect(dl.map((x) => x.reason)).toEqual([
      "bad_json",
      "bad_shape",
      "bad_time",
      "feed_not_allowed",
      "future_time",
      "id_conflict",
      "retired_agency",
      "retired_area",
      "retired_level",
      "source_mismatch",
      "too_large",
      "unknown_area",
      "unknown_source",
    ]);
  });

  it("publish again: every line already sent is a duplicate, and nothing changes", async () => {
    const before = await h.figures();
    const p = await runPulse(["publish", file, "--json"], env);
    const out = p.json();
    for (const l of out.lines) {
      if (l.by === "cli") continue;
      expect([l.line, l.status, l.by]).toEqual([l.line, "duplicate", "jetstream"]);
    }
    await h.settle();
    expect(await h.figures()).toEqual(before);
    // No refusal this time, nothing unsettled; exit 1 only for the lines that cannot be sent.
    expect(out.summary.unsettled).toBe(0);
    expect(out.lines.filter((l: { status: string }) => l.status === "refused").map((l: { line: number }) => l.line)).toEqual([6]);
  });

  it("publish: a record ingest already held, sent under another Msg-Id, is ingest's duplicate; without the database it cannot say", async () => {
    const rec = { v: 1, id: "pre1", source: "dvc", ts: "2026-11-26T10:00:00+07:00", area: "16681", data: egov("x").data };
    // Stored earlier by another way (no Msg-Id): JetStream cannot know the file's line repeats it.
    await h.publish("egov", "dvc", rec, { msgId: false });
    await h.settle();
    const before = await h.figures();
    const p = await runPulse(["publish", "-", "--feed", "egov", "--source", "dvc", "--json"], env, JSON.stringify(rec));
    expect(p.json().lines[0]).toMatchObject({
      status: "duplicate",
      by: "ingest",
      detail: 'ingest already held revision 0 of dvc id "pre1": nothing changed',
    });
    expect(p.code).toBe(0);
    await h.settle();
    expect(await h.figures()).toEqual(before);
    const blind = await runPulse(
      ["publish", "-", "--feed", "egov", "--source", "dvc", "--no-database", "--json"],
      env,
      JSON.stringify({ ...rec, revision: 0, id: "pre2" }),
    );
    expect(blind.json().lines[0]).toMatchObject({ status: "accepted", detail: expect.stringMatching(/database not read/) });
  });

  it("reads standard input and --feed/--source lines as exact payloads", async () => {
    const rec = {
      v: 1,
      id: "s9",
      source: "edoc",
      ts: "2026-11-26T10:00:00+07:00",
      area: "40",
      data: { agency: "so-khcn", doc: "9/QĐ", signed: false, signer: "personal" },
    };
    const input = `${JSON.stringify(rec)}\n${JSON.stringify({ ...rec, id: "s10", area: "16681x" })}\nnot json\n`;
    const c = await runPulse(["check", "-", "--feed", "esign", "--source", "edoc", "--json"], env, input);
    expect(c.json().lines.map((l: { status: string; reason?: string }) => l.reason ?? l.status)).toEqual([
      "ok",
      "unknown_area",
      "bad_json",
    ]);
    const p = await runPulse(["publish", "-", "--feed", "esign", "--source", "edoc", "--json"], env, input);
    expect(p.json().lines.map((l: { status: string; reason?: string }) => l.reason ?? l.status)).toEqual([
      "accepted",
      "unknown_area",
      "bad_json",
    ]);
  });

  it("names the lines ingest did not settle in time", async () => {
    await h.stopIngest();
    try {
      const rec = { v: 1, id: "late1", source: "dvc", ts: "2026-11-26T10:00:00+07:00", area: "16681", data: egov("x").data };
      const p = await runPulse(["publish", "-", "--feed", "egov", "--source", "dvc", "--timeout", "1.5"], env, JSON.stringify(rec));
      expect(p.code).toBe(1);
      expect(p.stdout).toMatch(/line 1: unsettled \(not settled by ingest within 2 s/);
      expect(p.stdout).toContain("not settled: lines 1");
    } finally {
      await h.startIngest();
    }
  });
});
