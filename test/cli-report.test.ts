import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readXlsx, runPulse } from "@pulse/cli/testing";
import { loadConfig, startExporter, type Exporter } from "@pulse/exporter";
import { parseMetrics, valueOf, type Sample } from "@pulse/exporter/testing";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { districts } from "@pulse/seeds";

// The month's report must add up to what Postgres holds and what the exporter's /metrics shows
// for the same month (every event here is of today, so "today" and "this month" are one).
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19) + "+07:00";

// The CLI (a child process, no clock to inject) judges "this month" on the real clock, so the
// month is the real one. Never start in the last 90 s of a month (UTC+7): it would change under
// the test. This costs a wait of at most 92 s, once a month.
const nextMonthStart = (ms: number) => {
  const d = new Date(ms + 7 * 3_600_000);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - 7 * 3_600_000;
};
const leftInMonth = nextMonthStart(Date.now()) - Date.now();
if (leftInMonth < 90_000) await new Promise((r) => setTimeout(r, leftInMonth + 2_000)); // events are dated 1 s ago

describe("pulse report", () => {
  let h: Harness;
  let exporter: Exporter;
  let env: Record<string, string>;
  const now = Date.now();
  const month = local(now).slice(0, 7);
  const monthStart = Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5)) - 1, 1) - 7 * 3_600_000;
  const lastMonth = local(monthStart - 3_600_000).slice(0, 7);
  const ts = { ts: local(now - 1_000) };
  const before = { ts: local(monthStart - 3_600_000) };

  beforeAll(async () => {
    h = await ingestHarness("cli_report");
    exporter = await startExporter(
      loadConfig(
        { DATABASE_URL: h.database.url, METRICS_PORT: "0", NATS_URL: "none", EXPORTER_CACHE_MS: "0", LOG_LEVEL: "silent" },
        { names: h.names },
      ),
      // "Today" is the day the events are dated in, however long the test runs past its midnight.
      { clock: () => now },
    );
    env = { DATABASE_URL: h.database.url, NATS_URL: h.config.natsUrl, PULSE_NAMESPACE: h.names.namespace! };
    const p = (feed: string, source: string, e: Parameters<Harness["publish"]>[2], o?: { msgId?: boolean }) =>
      h.publish(feed, source, e, o);
    // Subscribers: last month's reading, then this month's; a restatement; FTTH in two districts.
    await p("subscribers", "viettel", make.subscribers("s0", "mobile", 700, before));
    await p("subscribers", "viettel", make.subscribers("s1", "mobile", 1_000, ts));
    await p("subscribers", "viettel", make.subscribers("s1", "mobile", 900, { ...ts, revision: 1 }));
    await p("subscribers", "vinaphone", make.subscribers("s2", "mobile", 500, { ...ts, area: "413" }));
    await p("subscribers", "viettel", make.subscribers("f1", "ftth", 40_000, ts));
    await p("subscribers", "mobifone", make.subscribers("f2", "ftth", 2_000, { ...ts, area: "426" }));
    await p("subscribers", "mobifone", make.subscribers("b1", "fixed_broadband", 3_000, { ...ts, area: "426" }));
    // BTS: up, down, 5G, one removed (not counted as a station).
    await p("bts", "viettel", make.bts("t1", "A", "up", ts));
    await p("bts", "viettel", make.bts("t2", "B", "down", ts));
    await p("bts", "viettel", make.bts("t3", "C", "up", { ...ts, tech: "5G", area: "413" }));
    await p("bts", "vinaphone", make.bts("t4", "D", "removed", ts));
    // Documents: signed and not, a provincial agency, one from last month (not in this month).
    await p("esign", "edoc", make.esign("d1", true, ts));
    await p("esign", "edoc", make.esign("d2", false, { ...ts, area: "412" }));
    await p("esign", "edoc", make.esign("d3", true, { ...ts, area: "413", agency: "so-moi" }));
    await p("esign", "edoc", make.esign("d4", true, before));
    await p("esign", "edoc", make.esign("d2", true, { ...ts, area: "412", revision: 1 }));
    // Dossiers.
    await p("egov", "dvc", make.egov("x1:received", "received", ts));
    await p("egov", "dvc", make.egov("x2:received", "received", { ...ts, channel: "in_person" }));
    await p("egov", "dvc", make.egov("x3:received", "received", { ...ts, channel: "online_partial", area: "40" }));
    await p("egov", "dvc", make.egov("x1:resolved", "resolved_on_time", ts));
    await p("egov", "dvc", make.egov("x2:resolved", "resolved_late", ts));
    await p("egov", "dvc", make.egov("x3:rejected", "rejected", { ...ts, area: "40" }));
    await h.settle();
  });
  afterAll(async () => {
    await exporter?.close();
    await h?.close();
  });

  const total = (rows: { scope: string; source: string; code: string; value: number | null }[], code: string) =>
    rows.find((r) => r.scope === "total" && r.source === "tat_ca" && r.code === code)?.value;
  const sum = (s: Sample[], name: string, f: (l: Record<string, string>) => boolean = () => true) =>
    s.filter((x) => x.name === name && f(x.labels)).reduce((n, x) => n + x.value, 0);
  const pg = async (text: string) => Number((await h.db.pool.query(text)).rows[0].n);

  it("adds up to what /metrics and Postgres hold for the month", async () => {
    const r = await runPulse(["report", "--month", month, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const { rows, month_end_figures } = r.json();
    expect(month_end_figures).toBe("current");
    const m = parseMetrics(await (await fetch(`http://127.0.0.1:${exporter.port}/metrics`)).text());
    for (const [code, service] of [
      ["thue_bao_di_dong", "mobile"],
      ["thue_bao_ftth", "ftth"],
      ["thue_bao_bang_rong_co_dinh", "fixed_broadband"],
      ["thue_bao_bang_rong_di_dong", "mobile_broadband"],
    ] as const) {
      expect(total(rows, code), code).toBe(sum(m, "pulse_subscribers", (l) => l.service === service));
      expect(total(rows, code), code).toBe(
        await pg(`SELECT coalesce(sum(count), 0) AS n FROM subscriber_gauges WHERE service = '${service}'`),
      );
    }
    expect(total(rows, "thue_bao_di_dong")).toBe(1_400);
    expect(total(rows, "tram_bts")).toBe(sum(m, "pulse_bts_stations", (l) => l.status !== "removed"));
    expect(total(rows, "tram_bts")).toBe(3);
    expect(total(rows, "tram_bts_5g")).toBe(sum(m, "pulse_bts_stations", (l) => l.status !== "removed" && l.tech === "5G"));
    expect(total(rows, "tram_bts_mat_lien_lac")).toBe(sum(m, "pulse_bts_stations", (l) => l.status === "down"));
    const monthDays = `grain = 'day' AND bucket >= '${new Date(monthStart).toISOString()}'`;
    expect(total(rows, "van_ban_dien_tu")).toBe(sum(m, "pulse_esign_documents_today"));
    expect(total(rows, "van_ban_dien_tu")).toBe(await pg(`SELECT sum(count) AS n FROM esign_counts WHERE ${monthDays}`));
    expect(total(rows, "van_ban_dien_tu")).toBe(3);
    expect(total(rows, "van_ban_ky_so")).toBe(sum(m, "pulse_esign_documents_today", (l) => l.signed === "true"));
    const egov = (f: (l: Record<string, string>) => boolean) => sum(m, "pulse_egov_submissions_today", f);
    expect(total(rows, "ho_so_tiep_nhan")).toBe(egov((l) => l.status === "received"));
    expect(total(rows, "ho_so_tiep_nhan")).toBe(
      await pg(`SELECT sum(count) AS n FROM egov_counts WHERE ${monthDays} AND status = 'received'`),
    );
    expect(total(rows, "ho_so_truc_tuyen")).toBe(egov((l) => l.status === "received" && l.channel !== "in_person"));
    expect(total(rows, "ho_so_truc_tuyen_toan_trinh")).toBe(egov((l) => l.status === "received" && l.channel === "online_full"));
    expect(total(rows, "ho_so_dung_han")).toBe(egov((l) => l.status === "resolved_on_time"));
    expect(total(rows, "ho_so_qua_han")).toBe(egov((l) => l.status === "resolved_late"));
    expect(total(rows, "ho_so_tu_choi")).toBe(egov((l) => l.status === "rejected"));
    for (const kpi of ["esign_rate", "online_share", "online_full_share", "ontime_rate", "ftth_coverage"]) {
      expect(total(rows, `ty_le_${kpi}`), kpi).toBeCloseTo(valueOf(m, "pulse_kpi_ratio", { kpi })!, 12);
    }
    // Every carrier × district row adds up to its province total.
    for (const code of ["thue_bao_di_dong", "thue_bao_ftth", "tram_bts", "van_ban_dien_tu", "ho_so_tiep_nhan"]) {
      const parts = rows.filter(
        (x: { scope: string; source: string; code: string }) => x.code === code && x.scope !== "total" && x.source !== "tat_ca",
      );
      expect(
        parts.reduce((n: number, x: { value: number }) => n + x.value, 0),
        code,
      ).toBe(total(rows, code));
    }
    // District 426: FTTH coverage from its own households.
    const cov = rows.find((x: { area: string; code: string }) => x.area === "426" && x.code === "ty_le_ftth_coverage");
    expect(cov.value).toBeCloseTo(2_000 / districts.find((d) => d.code === "426")!.households!, 12);
  });

  it("a month that is over: month-end figures from the raw events, counts of that month only", async () => {
    const { rows, month_end_figures, month_end_may_be_incomplete } = (
      await runPulse(["report", "--month", lastMonth, "--json"], env)
    ).json();
    expect([month_end_figures, month_end_may_be_incomplete]).toEqual(["events", false]);
    expect(total(rows, "thue_bao_di_dong")).toBe(700);
    expect(total(rows, "van_ban_dien_tu")).toBe(1);
    expect(total(rows, "tram_bts")).toBe(0);
    // Past the raw events' retention, the report says its month-end figures may be incomplete.
    const short = await runPulse(["report", "--month", lastMonth, "--json"], { ...env, EVENTS_RETENTION_DAYS: "1" });
    expect(short.json().month_end_may_be_incomplete).toBe(true);
    expect(short.stderr).toMatch(/may be incomplete/);
  });

  it("writes CSV with a byte-order mark, a readable table, and xlsx", async () => {
    const csv = await runPulse(["report", "--month", month, "--format", "csv"], env);
    expect(csv.stdout.startsWith("\uFEFFKỳ báo cáo,Mã ĐVHC,Đơn vị hành chính,")).toBe(true);
    const lines = csv.stdout.split("\r\n");
    expect(lines.at(-1)).toBe("");
    const rows = (await runPulse(["report", "--month", month, "--json"], env)).json().rows;
    expect(lines.length - 2).toBe(rows.length);
    expect(lines).toContain(
      `${month.slice(5)}/${month.slice(0, 4)},40,Tỉnh Nghệ An (toàn tỉnh),Toàn tỉnh,tat_ca,Tất cả doanh nghiệp,thue_bao_di_dong,Số thuê bao điện thoại di động,thuê bao,1400`,
    );
    const table = await runPulse(["report", "--month", month], env);
    expect(table.stdout).toMatch(/Tỉnh Nghệ An \(toàn tỉnh\) +Tất cả doanh nghiệp +Số thuê bao điện thoại di động +thuê bao +1400/);
    const file = join(mkdtempSync(join(tmpdir(), "pulse-report-")), "report.xlsx");
    const x = await runPulse(["report", "--month", month, "--format", "xlsx", "--output", file], env);
    expect(x.code, x.stderr).toBe(0);
    expect(readFileSync(file).subarray(0, 2).toString()).toBe("PK");
    const sheet = await readXlsx(file);
    expect(sheet[0]![0]).toBe("Kỳ báo cáo");
    expect(sheet).toHaveLength(rows.length + 1);
    expect(sheet.find((r) => r[1] === "40" && r[4] === "tat_ca" && r[6] === "thue_bao_di_dong")![9]).toBe(1400);
  });

  it("refuses a bad month with exit 2", async () => {
    for (const m of ["2026-13", "2026-1", "december"]) expect((await runPulse(["report", "--month", m], env)).code).toBe(2);
    expect((await runPulse(["report", "--month", month, "--format", "pdf"], env)).code).toBe(2);
  });
});
