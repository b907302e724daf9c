import { writeFile } from "node:fs/promises";
import ExcelJS from "exceljs";
import { esignRate, ftthCoverage, onlineFullShare, onlineShare, ontimeRate, utc7OffsetMs, type EgovDayCounts } from "@pulse/contracts";
import { readMonthReport, type MonthReportRows } from "@pulse/db";
import { areas, districts, provinceCode, provinceHouseholds, sources } from "@pulse/seeds";
import { UsageError } from "../cli-error";
import type { CliConfig } from "../config";
import { openDb } from "../connect";
import { formatTable, printJson, type CliIo } from "../io";
import { columns, egovIndicators, kpiIndicator, scopeLabels, telecomIndicators, type Indicator } from "../report-indicators";

export interface ReportRow {
  month: string;
  area: string;
  area_name: string;
  scope: keyof typeof scopeLabels;
  source: string;
  source_name: string;
  code: string;
  indicator: string;
  unit: string;
  /** A count, or a ratio 0–1 for unit "%" (null when its denominator is 0). */
  value: number | null;
}

const allCarriers = { id: "tat_ca", name: "Tất cả doanh nghiệp" };
const allSystems = { id: "tat_ca", name: "Tất cả hệ thống" };
const areaName = (code: string) => areas.find((a) => a.code === code)?.name_vi ?? code;
const sourceName = (id: string) => sources.find((s) => s.id === id)?.name ?? id;

/** Month `YYYY-MM` as [start, end) UTC instants of its local (UTC+7) first midnights. */
export function monthRange(month: string): { start: Date; end: Date } {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new UsageError(`--month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const y = Number(m[1]),
    mo = Number(m[2]);
  return { start: new Date(Date.UTC(y, mo - 1, 1) - utc7OffsetMs), end: new Date(Date.UTC(y, mo, 1) - utc7OffsetMs) };
}

/** Builds the report's rows from the month's figures. Pure. */
export function buildReport(month: string, r: MonthReportRows): ReportRow[] {
  const label = `${month.slice(5)}/${month.slice(0, 4)}`;
  const out: ReportRow[] = [];
  const row = (area: string, scope: ReportRow["scope"], src: { id: string; name: string }, ind: Indicator, value: number | null) =>
    out.push({
      month: label,
      area,
      area_name:
        scope === "total" ? `${areaName(provinceCode)} (toàn tỉnh)` : scope === "province_agencies" ? "Cơ quan cấp tỉnh" : areaName(area),
      scope,
      source: src.id,
      source_name: src.name,
      code: ind.code,
      indicator: ind.vi,
      unit: ind.unit,
      value,
    });
  const districtCodes = districts.map((d) => d.code);
  const sum = <T>(xs: readonly T[], f: (x: T) => boolean, v: (x: T) => number) => xs.reduce((n, x) => (f(x) ? n + v(x) : n), 0);

  // Telecom: per carrier (and all carriers) × district (and the province, their sum).
  const carriers = [
    ...new Set([
      ...sources.filter((s) => s.feeds.subscribers || s.feeds.bts).map((s) => s.id),
      ...r.subscribers.map((x) => x.source),
      ...r.bts.map((x) => x.source),
    ]),
  ];
  const extraAreas = [...new Set([...r.subscribers, ...r.bts].map((x) => x.area).filter((a) => !districtCodes.includes(a)))];
  const telecomAreas = [...districtCodes, ...extraAreas];
  for (const carrier of [...carriers.map((id) => ({ id, name: sourceName(id) })), allCarriers]) {
    for (const area of [...telecomAreas, null]) {
      const inScope = (x: { source: string; area: string }) =>
        (carrier === allCarriers || x.source === carrier.id) && (area === null || x.area === area);
      const a = area ?? provinceCode;
      const scope = area === null ? "total" : "district";
      for (const service of ["mobile", "mobile_broadband", "fixed_broadband", "ftth"] as const) {
        row(
          a,
          scope,
          carrier,
          telecomIndicators[service],
          sum(
            r.subscribers,
            (x) => inScope(x) && x.service === service,
            (x) => x.count,
          ),
        );
      }
      row(
        a,
        scope,
        carrier,
        telecomIndicators.bts,
        sum(
          r.bts,
          (x) => inScope(x) && x.status !== "removed",
          (x) => x.count,
        ),
      );
      row(
        a,
        scope,
        carrier,
        telecomIndicators.bts_5g,
        sum(
          r.bts,
          (x) => inScope(x) && x.status !== "removed" && x.tech === "5G",
          (x) => x.count,
        ),
      );
      row(
        a,
        scope,
        carrier,
        telecomIndicators.bts_down,
        sum(
          r.bts,
          (x) => inScope(x) && x.status === "down",
          (x) => x.count,
        ),
      );
    }
  }

  // Documents and dossiers: per system (and all) × district, provincial agencies, and the total.
  const systems = [
    ...new Set([
      ...sources.filter((s) => s.feeds.esign || s.feeds.egov).map((s) => s.id),
      ...r.esign.map((x) => x.source),
      ...r.egov.map((x) => x.source),
    ]),
  ];
  const egovAreas = [...new Set([...districtCodes, ...[...r.esign, ...r.egov].map((x) => x.area).filter((a) => a !== provinceCode)])];
  const egovCounts = (f: (x: { source: string; area: string }) => boolean): EgovDayCounts & { rejected: number } => {
    const g = (channel: string | null, status: string) =>
      sum(
        r.egov,
        (x) => f(x) && x.status === status && (channel === null || x.channel === channel),
        (x) => x.count,
      );
    return {
      received: {
        online_full: g("online_full", "received"),
        online_partial: g("online_partial", "received"),
        in_person: g("in_person", "received"),
      },
      resolvedOnTime: g(null, "resolved_on_time"),
      resolvedLate: g(null, "resolved_late"),
      rejected: g(null, "rejected"),
    };
  };
  const scopes: [string | null, ReportRow["scope"]][] = [
    ...egovAreas.map((a): [string, ReportRow["scope"]] => [a, "district"]),
    [provinceCode, "province_agencies"],
    [null, "total"],
  ];
  for (const system of [...systems.map((id) => ({ id, name: sourceName(id) })), allSystems]) {
    for (const [area, scope] of scopes) {
      const inScope = (x: { source: string; area: string }) =>
        (system === allSystems || x.source === system.id) && (area === null || x.area === area);
      const a = area ?? provinceCode;
      const docs = {
        exchanged: sum(r.esign, inScope, (x) => x.count),
        signed: sum(
          r.esign,
          (x) => inScope(x) && x.signed,
          (x) => x.count,
        ),
      };
      const e = egovCounts(inScope);
      row(a, scope, system, egovIndicators.documents, docs.exchanged);
      row(a, scope, system, egovIndicators.signed, docs.signed);
      row(a, scope, system, egovIndicators.received, e.received.online_full + e.received.online_partial + e.received.in_person);
      row(a, scope, system, egovIndicators.online, e.received.online_full + e.received.online_partial);
      row(a, scope, system, egovIndicators.online_full, e.received.online_full);
      row(a, scope, system, egovIndicators.on_time, e.resolvedOnTime);
      row(a, scope, system, egovIndicators.late, e.resolvedLate);
      row(a, scope, system, egovIndicators.rejected, e.rejected);
      if (system === allSystems) {
        row(a, scope, system, kpiIndicator("esign_rate"), esignRate(docs));
        row(a, scope, system, kpiIndicator("online_share"), onlineShare(e));
        row(a, scope, system, kpiIndicator("online_full_share"), onlineFullShare(e));
        row(a, scope, system, kpiIndicator("ontime_rate"), ontimeRate(e));
      }
    }
  }
  // FTTH coverage per district and province: FTTH households (all carriers) / households (seeds).
  for (const area of [...districtCodes, null]) {
    const ftth = sum(
      r.subscribers,
      (x) => x.service === "ftth" && (area === null || x.area === area),
      (x) => x.count,
    );
    const households = area === null ? provinceHouseholds : (districts.find((d) => d.code === area)?.households ?? 0);
    row(
      area ?? provinceCode,
      area === null ? "total" : "district",
      allCarriers,
      kpiIndicator("ftth_coverage"),
      ftthCoverage(ftth, households),
    );
  }
  return out;
}

const headers = [
  columns.month,
  columns.area,
  columns.areaName,
  columns.scope,
  columns.source,
  columns.sourceName,
  columns.code,
  columns.indicator,
  columns.unit,
  columns.value,
];
/** A value as printed: counts whole, ratios as a percentage with two decimals. */
const shown = (r: ReportRow): string => (r.value === null ? "" : r.unit === "%" ? (r.value * 100).toFixed(2) : String(r.value));
const cells = (r: ReportRow) => [
  r.month,
  r.area,
  r.area_name,
  scopeLabels[r.scope],
  r.source,
  r.source_name,
  r.code,
  r.indicator,
  r.unit,
  shown(r),
];

/** RFC 4180 CSV, CRLF line ends, UTF-8 with a byte-order mark (so Excel reads it as UTF-8). */
export function toCsv(rows: readonly ReportRow[]): string {
  const q = (s: string) => (/[",\r\n;]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s);
  return "\uFEFF" + [headers, ...rows.map(cells)].map((r) => r.map(q).join(",")).join("\r\n") + "\r\n";
}

async function toXlsx(rows: readonly ReportRow[], month: string): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.creator = "Pulse";
  const ws = wb.addWorksheet(`Báo cáo ${month}`);
  ws.addRow(headers).font = { bold: true };
  for (const r of rows) {
    const c = cells(r);
    ws.addRow([...c.slice(0, 9), r.value === null ? null : r.unit === "%" ? Math.round(r.value * 10_000) / 100 : r.value]);
  }
  ws.columns.forEach((col, i) => (col.width = [10, 8, 28, 16, 14, 34, 28, 52, 10, 12][i]));
  ws.views = [{ state: "frozen", ySplit: 1 }];
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** `pulse report --month YYYY-MM [--format table|csv|xlsx] [--output FILE]`. */
export async function report(
  io: CliIo,
  config: CliConfig,
  o: { month: string; format: "table" | "csv" | "xlsx"; output?: string; json?: boolean },
): Promise<number> {
  const { start, end } = monthRange(o.month);
  if (o.format === "xlsx" && !o.output && io.stdout.isTTY)
    throw new UsageError("--format xlsx writes a binary file: give --output FILE (or redirect standard output)");
  const db = await openDb(config);
  let figures: MonthReportRows;
  try {
    figures = await readMonthReport(db.db, start, end, new Date());
  } finally {
    await db.close();
  }
  const rows = buildReport(o.month, figures);
  // Month-end figures of a month that is over come from the raw events, kept by receipt time.
  const partial = figures.gaugesFrom === "events" && start.getTime() < Date.now() - config.retentionDays * 86_400_000;
  if (partial) {
    io.stderr.write(
      `note: the month-end subscribers and BTS of ${o.month} are read from raw events, which are kept ${config.retentionDays} days (EVENTS_RETENTION_DAYS): they may be incomplete\n`,
    );
  }
  if (o.json) {
    printJson(io, {
      month: o.month,
      from: start.toISOString(),
      to: end.toISOString(),
      month_end_figures: figures.gaugesFrom,
      month_end_may_be_incomplete: partial,
      rows,
    });
    return 0;
  }
  let body: string | Buffer;
  if (o.format === "csv") body = toCsv(rows);
  else if (o.format === "xlsx") body = await toXlsx(rows, o.month);
  else {
    const shownRows = rows.filter((r) => r.value !== null && r.value !== 0);
    body =
      `Báo cáo thống kê tháng ${o.month.slice(5)}/${o.month.slice(0, 4)} — ${areaName(provinceCode)}` +
      ` (thuê bao và trạm BTS tại thời điểm cuối kỳ${figures.gaugesFrom === "current" ? ": tháng chưa kết thúc, số liệu hiện tại" : ""}; văn bản và hồ sơ trong tháng)\n` +
      formatTable(
        [columns.areaName, columns.sourceName, columns.indicator, columns.unit, columns.value],
        shownRows.map((r) => [r.area_name, r.source_name, r.indicator, r.unit, shown(r)]),
      ) +
      `${shownRows.length} dòng khác 0 (của ${rows.length}; --format csv hoặc xlsx có đủ mọi dòng)\n`;
  }
  if (o.output) {
    await writeFile(o.output, body);
    io.stderr.write(`report written to ${o.output} (${rows.length} rows)\n`);
  } else io.stdout.write(body);
  return 0;
}
