import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readXlsx, runPulse } from "@pulse/cli/testing";
import { loadConfig, startExporter, type Exporter } from "@pulse/exporter";
import { parseMetrics, valueOf, type Sample } from "@pulse/exporter/testing";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";

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
    // Subscribers: last month's reading, then this month's; a restatement; FTTH in two communes.
    await p("subscribers", "viettel", make.subscribers("s0", "mobile", 700, before));
    await p("subscribers", "viettel", make.subscribers("s1", "mobile", 1_000, ts));
    await p("subscribers", "viettel", make.subscribers("s1", "mobile", 900, { ...ts, revision: 1 }));
    await p("subscribers", "vinaphone", make.subscribers("s2", "mobile", 500, { ...ts, area: "16732" }));
    await p("subscribers", "viettel", make.subscribers("f1", "ftth", 40_000, ts));
    await p("subscribers", "mobifone", make.subscribers("f2", "ftth", 2_000, { ...ts, area: "17506" }));
    await p("subscribers", "mobifone", make.subscribers("b1", "fixed_broadband", 3_000, { ...ts, area: "17506" }));
    // BTS: up, down, 5G, one removed (not counted as a station).
    await p("bts", "viettel", make.bts("t1", "A", "up", ts));
    await p("bts", "viettel", make.bts("t2", "B", "down", ts));
    await p("bts", "viettel", make.bts("t3", "C", "up", { ...ts, tech: "5G", area: "16732" }));
    await p("bts", "vinaphone", make.bts("t4", "D", "removed", ts));
    // Documents: signed and not, a provincial agency, one from last month (not in this month).
    await p("esign", "edoc", make.esign("d1", true, ts));
    await p("esign", "edoc", make.esign("d2", false, { ...ts, area: "16681" }));
    await p("esign", "edoc", make.esign("d3", true, { ...ts, area: "16732", agency: "so-moi" }));
    await p("esign", "edoc", make.esign("d4", true, before));
    await p("esign", "edoc", make.esign("d2", true, { ...ts, area: "16681", revision: 1 }));
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
    // Every carrier × commune row adds up to its province total (subtotals aside).
    for (const code of ["thue_bao_di_dong", "thue_bao_ftth", "tram_bts", "van_ban_dien_tu", "ho_so_tiep_nhan"]) {
      const parts = rows.filter(
        (x: { scope: string; source: string; code: string }) =>
          x.code === code && x.scope !== "total" && x.scope !== "former_district" && x.source !== "tat_ca",
      );
      expect(
        parts.reduce((n: number, x: { value: number }) => n + x.value, 0),
        code,
      ).toBe(total(rows, code));
    }
    // FTTH coverage for the province alone: 840,932 households is the one sourced denominator.
    expect(rows.filter((x: { code: string }) => x.code === "ty_le_ftth_coverage").map((x: { area: string }) => x.area)).toEqual(["40"]);
    expect(total(rows, "ty_le_ftth_coverage")).toBeCloseTo(42_000 / 840_932, 12);
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
      `${month.slice(5)}/${month.slice(0, 4)},40,Tỉnh Nghệ An (toàn tỉnh),Toàn tỉnh,,tat_ca,Tất cả doanh nghiệp,thue_bao_di_dong,Số thuê bao điện thoại di động,thuê bao,1400,`,
    );
    // A commune names its former district; a carrier that sent nothing this month is "not reported", not 0.
    expect(lines).toContain(
      `${month.slice(5)}/${month.slice(0, 4)},16732,Phường Cửa Lò,Cấp xã,412,viettel,Viettel Nghệ An,tram_bts_5g,Trong đó: trạm 5G,trạm,1,`,
    );
    expect(lines).toContain(
      `${month.slice(5)}/${month.slice(0, 4)},16732,Phường Cửa Lò,Cấp xã,412,vietnamobile,Vietnamobile Nghệ An,thue_bao_di_dong,Số thuê bao điện thoại di động,thuê bao,,Không báo cáo`,
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
    expect(sheet.find((r) => r[1] === "40" && r[5] === "tat_ca" && r[7] === "thue_bao_di_dong")![10]).toBe(1400);
  });

  it("refuses a bad month with exit 2", async () => {
    for (const m of ["2026-13", "2026-1", "december"]) expect((await runPulse(["report", "--month", m], env)).code).toBe(2);
    expect((await runPulse(["report", "--month", month, "--format", "pdf"], env)).code).toBe(2);
  });
});

// The map the report is made on: by district before July 2025, by commune with former-district
// subtotals from then on; month-end figures only in areas in force on the month's last day.
describe("pulse report across the 2025 map change", () => {
  let h: Harness;
  let env: Record<string, string>;
  type Row = {
    area: string;
    scope: string;
    former_district: string;
    source: string;
    code: string;
    value: number | null;
    reported: boolean;
  };
  const find = (rows: Row[], area: string, source: string, code: string) =>
    rows.find((r) => r.area === area && r.source === source && r.code === code && r.scope !== "province_agencies");
  const month = async (m: string) => {
    const r = await runPulse(["report", "--month", m, "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    return { ...r.json(), stderr: r.stderr } as {
      by: string;
      as_of: string;
      rows: Row[];
      not_reported: { subscribers: string[]; bts: string[] };
      retired_area_readings: Record<string, number>;
      stderr: string;
    };
  };

  beforeAll(async () => {
    h = await ingestHarness("cli_report_map");
    env = { DATABASE_URL: h.database.url, NATS_URL: h.config.natsUrl, PULSE_NAMESPACE: h.names.namespace! };
    const p = (feed: string, source: string, e: Parameters<Harness["publish"]>[2]) => h.publish(feed, source, e);
    // May 2025: Yên Thành (426) is a district; both carriers report there.
    await p("subscribers", "viettel", make.subscribers("may-1", "mobile", 1_234, { area: "426", ts: "2025-05-01T09:00:00+07:00" }));
    await p("subscribers", "mobifone", make.subscribers("may-2", "mobile", 300, { area: "426", ts: "2025-05-20T09:00:00+07:00" }));
    await p("bts", "viettel", make.bts("may-3", "YT-1", "up", { area: "426", ts: "2025-05-02T09:00:00+07:00" }));
    const district = { procedure: "1.004227", agency: "ubnd-huyen", level: "district", channel: "online_full", status: "received" };
    await p("egov", "dvc", { id: "may-4:received", area: "426", ts: "2025-05-05T09:00:00+07:00", data: district });
    // July 2025: viettel reports per commune; mobifone sent nothing in a commune (its last reading is June's, in 426).
    await p("subscribers", "mobifone", make.subscribers("jun-1", "mobile", 310, { area: "426", ts: "2025-06-20T09:00:00+07:00" }));
    await p("subscribers", "viettel", make.subscribers("jul-1", "mobile", 700, { area: "17506", ts: "2025-07-10T09:00:00+07:00" }));
    await p("subscribers", "viettel", make.subscribers("jul-2", "mobile", 600, { area: "17515", ts: "2025-07-10T09:00:00+07:00" }));
    await p("subscribers", "viettel", make.subscribers("jul-3", "mobile", 50, { area: "16732", ts: "2025-07-10T09:00:00+07:00" }));
    await p("bts", "viettel", make.bts("jul-4", "YT-1", "down", { area: "17506", ts: "2025-07-03T09:00:00+07:00" }));
    await p("egov", "dvc", make.egov("jul-5:received", "received", { area: "17506", ts: "2025-07-07T09:00:00+07:00" }));
    await p("egov", "dvc", make.egov("jul-6:received", "received", { area: "17515", ts: "2025-07-08T09:00:00+07:00" }));
    await h.settle();
    expect((await h.figures()).deadLetters).toEqual([]);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("May 2025: by district; a reading for 426 dated 2025-05-01 is in it", async () => {
    const r = await month("2025-05");
    expect([r.by, r.as_of]).toEqual(["district", "2025-05-31"]);
    // The districts in force on 31 May 2025: 412-432 without Cửa Lò (413, merged into Vinh).
    const areas = [...new Set(r.rows.filter((x) => x.scope === "district").map((x) => x.area))];
    expect(areas).toHaveLength(20);
    expect(areas).not.toContain("413");
    expect(r.rows.some((x) => x.scope === "commune" || x.scope === "former_district")).toBe(false);
    expect(find(r.rows, "426", "viettel", "thue_bao_di_dong")).toMatchObject({ scope: "district", value: 1_234, reported: true });
    expect(find(r.rows, "426", "tat_ca", "thue_bao_di_dong")!.value).toBe(1_534);
    expect(find(r.rows, "426", "tat_ca", "tram_bts")!.value).toBe(1);
    expect(find(r.rows, "426", "tat_ca", "ho_so_tiep_nhan")!.value).toBe(1);
    expect(r.rows.find((x) => x.scope === "total" && x.source === "tat_ca" && x.code === "thue_bao_di_dong")!.value).toBe(1_534);
  });

  it("July 2025: by commune with former-district subtotals; a carrier with no commune reading is not reported", async () => {
    const r = await month("2025-07");
    expect([r.by, r.as_of]).toEqual(["commune", "2025-07-31"]);
    const communes = [...new Set(r.rows.filter((x) => x.scope === "commune").map((x) => x.area))];
    expect(communes).toHaveLength(130);
    const subtotals = [...new Set(r.rows.filter((x) => x.scope === "former_district").map((x) => x.area))];
    expect(subtotals).toHaveLength(20);
    expect(find(r.rows, "17506", "viettel", "thue_bao_di_dong")).toMatchObject({ scope: "commune", former_district: "426", value: 700 });
    expect(find(r.rows, "17515", "viettel", "thue_bao_di_dong")).toMatchObject({ former_district: "426", value: 600 });
    // Yên Thành's subtotal is the sum of its communes; Cửa Lò's ward counts in Vinh's (412).
    expect(find(r.rows, "426", "viettel", "thue_bao_di_dong")).toMatchObject({ scope: "former_district", value: 1_300 });
    expect(find(r.rows, "412", "viettel", "thue_bao_di_dong")).toMatchObject({ scope: "former_district", value: 50 });
    expect(find(r.rows, "426", "tat_ca", "tram_bts_mat_lien_lac")!.value).toBe(1);
    expect(find(r.rows, "426", "tat_ca", "ho_so_tiep_nhan")).toMatchObject({ scope: "former_district", value: 2 });
    // Mobifone's latest reading is June's, in 426: history, left out and counted; mobifone is not reported, not 0.
    expect(find(r.rows, "17506", "mobifone", "thue_bao_di_dong")).toMatchObject({ value: null, reported: false });
    expect(r.rows.find((x) => x.scope === "total" && x.source === "mobifone" && x.code === "thue_bao_di_dong")).toMatchObject({
      value: null,
      reported: false,
    });
    expect(r.not_reported.subscribers).toEqual(expect.arrayContaining(["mobifone", "vinaphone", "vietnamobile"]));
    expect(r.not_reported.subscribers).not.toContain("viettel");
    // Viettel's and mobifone's gauges in 426 (May's and June's readings); the station moved to its commune.
    expect(r.retired_area_readings).toMatchObject({ subscribers: 2, bts: 0, esign: 0, egov: 0 });
    expect(r.stderr).toMatch(/left out as history, their areas not in force .*: 2 subscriber gauges, 0 BTS stations/);
    expect(r.rows.find((x) => x.scope === "total" && x.source === "tat_ca" && x.code === "thue_bao_di_dong")!.value).toBe(1_350);
    // No district rows from July 2025 on.
    expect(r.rows.some((x) => x.scope === "district")).toBe(false);
  });

  it("June 2025, the districts' last month: mobifone reported in 426", async () => {
    const r = await month("2025-06");
    expect(r.by).toBe("district");
    expect(find(r.rows, "426", "mobifone", "thue_bao_di_dong")).toMatchObject({ value: 310, reported: true });
    // Viettel's May reading is still its latest at the end of June, but it sent none in June.
    expect(find(r.rows, "426", "viettel", "thue_bao_di_dong")).toMatchObject({ value: null, reported: false });
  });
});
