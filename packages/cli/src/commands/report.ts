import { writeFile } from "node:fs/promises";
import ExcelJS from "exceljs";
import { esignRate, ftthCoverage, onlineFullShare, onlineShare, ontimeRate, utc7OffsetMs, type EgovDayCounts } from "@pulse/contracts";
import { readMonthReport, type MonthReportRows } from "@pulse/db";
import { areaMap, dayNumber, dayOf, localDayNumber, provinceCode, provinceHouseholds, sources } from "@pulse/seeds";
import { UsageError } from "../cli-error";
import type { CliConfig } from "../config";
import { openDb } from "../connect";
import { formatTable, printJson, type CliIo } from "../io";
import {
  columns,
  egovIndicators,
  kpiIndicator,
  notReportedLabel,
  scopeLabels,
  telecomIndicators,
  type Indicator,
} from "../report-indicators";

export interface ReportRow {
  month: string;
  area: string;
  area_name: string;
  scope: keyof typeof scopeLabels;
  /** Communes: the district (in force on 2025-06-30) whose ground they are on; "" otherwise. */
  former_district: string;
  source: string;
  source_name: string;
  code: string;
  indicator: string;
  unit: string;
  /** A count, or a ratio 0–1 for unit "%"; null when its denominator is 0, or when not reported. */
  value: number | null;
  /**
   * False for a carrier that sent no reading in an area in force that month (its month-end
   * figures are "not reported", not 0: e.g. one still sending districts' codes in July 2025).
   */
  reported: boolean;
}

/** What the month's rows were built on, beside the rows. */
export interface ReportBasis {
  /** The UTC+7 day whose map the month-end figures use: the month's last day, or today while it runs. */
  as_of: string;
  /** The level the month is reported by: districts before July 2025, communes from then on. */
  by: "district" | "commune";
  /** Carriers that sent no month-end reading in an area in force: per feed. */
  not_reported: { subscribers: string[]; bts: string[] };
  /** Rows left out because their area was not in force (month-end: on `as_of`; counts: during the month). */
  retired_area_readings: { subscribers: number; bts: number; esign: number; egov: number };
}

const allCarriers = { id: "tat_ca", name: "Tất cả doanh nghiệp" };
const allSystems = { id: "tat_ca", name: "Tất cả hệ thống" };
/** The name of `code` as it was last in force (a retired district keeps its name in history). */
const areaName = (code: string) => areaMap.versionsOf(code).at(-1)?.name_vi ?? code;
const sourceName = (id: string) => sources.find((s) => s.id === id)?.name ?? id;

/** Month `YYYY-MM` as [start, end) UTC instants of its local (UTC+7) first midnights. */
export function monthRange(month: string): { start: Date; end: Date } {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 12) throw new UsageError(`--month must be YYYY-MM, got ${JSON.stringify(month)}`);
  const y = Number(m[1]),
    mo = Number(m[2]);
  return { start: new Date(Date.UTC(y, mo - 1, 1) - utc7OffsetMs), end: new Date(Date.UTC(y, mo, 1) - utc7OffsetMs) };
}

/**
 * Builds the report's rows from the month's figures. Pure. `asOfDay`: the UTC+7 day number whose
 * map the month-end figures are judged on (default the month's last day; today while it runs).
 *
 * - By the lowest level in force on that day: districts before July 2025; from then on communes,
 *   each former district followed by its subtotal (scope `former_district`: the sum of its
 *   communes, so a district's series runs on across the cut-over).
 * - Month-end subscribers and BTS stations count only areas in force on that day; the rest are
 *   counted in `retired_area_readings`. A carrier with no reading in the month in an area in force
 *   is "not reported" (null), not 0.
 * - Documents and dossiers over the month count every area in force on some day of the month.
 * - FTTH coverage for the province only: its 840,932 households are the one sourced denominator.
 */
export function buildReport(month: string, r: MonthReportRows, asOfDay?: number): { rows: ReportRow[]; basis: ReportBasis } {
  const { start, end } = monthRange(month);
  const firstDay = localDayNumber(start.getTime());
  const lastDay = localDayNumber(end.getTime() - 1);
  const asOf = Math.min(asOfDay ?? lastDay, lastDay);
  const label = `${month.slice(5)}/${month.slice(0, 4)}`;
  const out: ReportRow[] = [];
  const leaves = areaMap.leavesOn(asOf);
  const by: ReportBasis["by"] = leaves.some((a) => a.level === "commune") ? "commune" : "district";
  const inForceAtEnd = new Set(leaves.map((a) => a.code));
  /** In force on some day of the month (a unit that ended mid-month still counts its days). */
  const inForceInMonth = (code: string) =>
    code === provinceCode ||
    areaMap.versionsOf(code).some((v) => {
      const from = v.valid_from === null ? -Infinity : dayNumber(v.valid_from);
      const to = v.valid_to === null ? Infinity : dayNumber(v.valid_to);
      return from <= lastDay && to >= firstDay;
    });
  const formerDistrictOf = (code: string) => areaMap.at(code, asOf)?.former_district ?? "";

  const row = (
    area: string,
    scope: ReportRow["scope"],
    src: { id: string; name: string },
    ind: Indicator,
    value: number | null,
    reported = true,
  ) =>
    out.push({
      month: label,
      area,
      area_name:
        scope === "total"
          ? `${areaName(provinceCode)} (toàn tỉnh)`
          : scope === "province_agencies"
            ? "Cơ quan cấp tỉnh"
            : scope === "former_district"
              ? `${areaName(area)} (cũ): cộng các xã, phường`
              : areaName(area),
      scope,
      former_district: scope === "commune" ? formerDistrictOf(area) : "",
      source: src.id,
      source_name: src.name,
      code: ind.code,
      indicator: ind.vi,
      unit: ind.unit,
      value: reported ? value : null,
      reported,
    });
  const sum = <T>(xs: readonly T[], f: (x: T) => boolean, v: (x: T) => number) => xs.reduce((n, x) => (f(x) ? n + v(x) : n), 0);

  /**
   * The month's areas in report order: by district, or by former district, each one's communes
   * then its subtotal (`members`: the areas a row sums).
   */
  const groups: { area: string; scope: ReportRow["scope"]; members: ReadonlySet<string> }[] = [];
  if (by === "district") {
    for (const a of leaves) groups.push({ area: a.code, scope: "district", members: new Set([a.code]) });
  } else {
    const grouped = new Set<string>();
    for (const { district, communes } of areaMap.formerDistrictsOn(asOf)) {
      for (const c of communes) {
        groups.push({ area: c.code, scope: "commune", members: new Set([c.code]) });
        grouped.add(c.code);
      }
      groups.push({ area: district.code, scope: "former_district", members: new Set(communes.map((c) => c.code)) });
    }
    for (const a of leaves) if (!grouped.has(a.code)) groups.push({ area: a.code, scope: "commune", members: new Set([a.code]) });
  }

  // Month-end figures: only areas in force on the as-of day; the rest are history, counted.
  const subscribers = r.subscribers.filter((x) => inForceAtEnd.has(x.area));
  const bts = r.bts.filter((x) => inForceAtEnd.has(x.area));
  const retired = {
    subscribers: r.subscribers.length - subscribers.length,
    bts: sum(
      r.bts,
      (x) => !inForceAtEnd.has(x.area),
      (x) => x.count,
    ),
    esign: sum(
      r.esign,
      (x) => !inForceInMonth(x.area),
      (x) => x.count,
    ),
    egov: sum(
      r.egov,
      (x) => !inForceInMonth(x.area),
      (x) => x.count,
    ),
  };
  const esign = r.esign.filter((x) => inForceInMonth(x.area));
  const egov = r.egov.filter((x) => inForceInMonth(x.area));

  // Telecom: per carrier (and all carriers) × area (and former-district subtotals, and the province).
  const carriers = [
    ...new Set([
      ...sources.filter((s) => s.feeds.subscribers || s.feeds.bts).map((s) => s.id),
      ...r.subscribers.map((x) => x.source),
      ...r.bts.map((x) => x.source),
    ]),
  ];
  const reportedIn = (rows: readonly { source: string; latest: Date }[]) =>
    new Set(rows.filter((x) => x.latest.getTime() >= start.getTime()).map((x) => x.source));
  const subscribersFrom = reportedIn(subscribers);
  const btsFrom = reportedIn(bts);
  const notReported = {
    subscribers: carriers.filter((c) => !subscribersFrom.has(c)),
    bts: carriers.filter((c) => !btsFrom.has(c)),
  };
  for (const carrier of [...carriers.map((id) => ({ id, name: sourceName(id) })), allCarriers]) {
    const all = carrier === allCarriers;
    const subsReported = all || subscribersFrom.has(carrier.id);
    const btsReported = all || btsFrom.has(carrier.id);
    // The all-carriers figures sum the carriers that reported (the filters below).
    const ofCarrier = (x: { source: string }) => all || x.source === carrier.id;
    for (const g of [...groups, null]) {
      const inScope = (x: { source: string; area: string }) => ofCarrier(x) && (g === null || g.members.has(x.area));
      const a = g?.area ?? provinceCode;
      const scope = g?.scope ?? "total";
      for (const service of ["mobile", "mobile_broadband", "fixed_broadband", "ftth"] as const) {
        const v = sum(
          subscribers,
          (x) => inScope(x) && x.service === service && (!all || subscribersFrom.has(x.source)),
          (x) => x.count,
        );
        row(a, scope, carrier, telecomIndicators[service], v, subsReported);
      }
      const stations = (f: (x: (typeof bts)[number]) => boolean) =>
        sum(
          bts,
          (x) => inScope(x) && (!all || btsFrom.has(x.source)) && f(x),
          (x) => x.count,
        );
      row(
        a,
        scope,
        carrier,
        telecomIndicators.bts,
        stations((x) => x.status !== "removed"),
        btsReported,
      );
      row(
        a,
        scope,
        carrier,
        telecomIndicators.bts_5g,
        stations((x) => x.status !== "removed" && x.tech === "5G"),
        btsReported,
      );
      row(
        a,
        scope,
        carrier,
        telecomIndicators.bts_down,
        stations((x) => x.status === "down"),
        btsReported,
      );
    }
  }

  // Documents and dossiers: per system (and all) × area (with subtotals), provincial agencies, and the total.
  const systems = [
    ...new Set([
      ...sources.filter((s) => s.feeds.esign || s.feeds.egov).map((s) => s.id),
      ...r.esign.map((x) => x.source),
      ...r.egov.map((x) => x.source),
    ]),
  ];
  // Areas with counts that month but no longer in force at its end (a unit that ended mid-month).
  const listed = new Set(groups.flatMap((g) => [...g.members]));
  const ended = [...new Set([...esign, ...egov].map((x) => x.area))]
    .filter((a) => a !== provinceCode && !listed.has(a))
    .sort()
    .map((a) => ({
      area: a,
      scope: (areaMap.versionsOf(a).at(-1)?.level === "commune" ? "commune" : "district") as ReportRow["scope"],
      members: new Set([a]),
    }));
  const egovCounts = (f: (x: { source: string; area: string }) => boolean): EgovDayCounts & { rejected: number } => {
    const g = (channel: string | null, status: string) =>
      sum(
        egov,
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
  const scopes = [...groups, ...ended, { area: provinceCode, scope: "province_agencies" as const, members: new Set([provinceCode]) }, null];
  for (const system of [...systems.map((id) => ({ id, name: sourceName(id) })), allSystems]) {
    for (const g of scopes) {
      const inScope = (x: { source: string; area: string }) =>
        (system === allSystems || x.source === system.id) && (g === null || g.members.has(x.area));
      const a = g?.area ?? provinceCode;
      const scope = g?.scope ?? "total";
      const docs = {
        exchanged: sum(esign, inScope, (x) => x.count),
        signed: sum(
          esign,
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
  // FTTH coverage: the province only (FTTH households of the carriers that reported / 840,932).
  const ftth = sum(
    subscribers,
    (x) => x.service === "ftth" && subscribersFrom.has(x.source),
    (x) => x.count,
  );
  row(provinceCode, "total", allCarriers, kpiIndicator("ftth_coverage"), ftthCoverage(ftth, provinceHouseholds));
  return { rows: out, basis: { as_of: dayOf(asOf), by, not_reported: notReported, retired_area_readings: retired } };
}

const headers = [
  columns.month,
  columns.area,
  columns.areaName,
  columns.scope,
  columns.formerDistrict,
  columns.source,
  columns.sourceName,
  columns.code,
  columns.indicator,
  columns.unit,
  columns.value,
  columns.note,
];
/** The note column: why a value is empty. */
const noted = (r: ReportRow): string => (r.reported ? "" : notReportedLabel);
/** A value as printed: counts whole, ratios as a percentage with two decimals. */
const shown = (r: ReportRow): string => (r.value === null ? "" : r.unit === "%" ? (r.value * 100).toFixed(2) : String(r.value));
const cells = (r: ReportRow) => [
  r.month,
  r.area,
  r.area_name,
  scopeLabels[r.scope],
  r.former_district,
  r.source,
  r.source_name,
  r.code,
  r.indicator,
  r.unit,
  shown(r),
  noted(r),
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
    ws.addRow([...c.slice(0, 10), r.value === null ? null : r.unit === "%" ? Math.round(r.value * 10_000) / 100 : r.value, c[11]]);
  }
  ws.columns.forEach((col, i) => (col.width = [10, 8, 36, 18, 10, 14, 34, 28, 52, 10, 12, 16][i]));
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
  // While the month runs, its month-end figures are today's, on today's map.
  const { rows, basis } = buildReport(o.month, figures, localDayNumber(Date.now()));
  const left = basis.retired_area_readings;
  const leftOut = left.subscribers + left.bts + left.esign + left.egov;
  if (leftOut > 0) {
    io.stderr.write(
      `note: left out as history, their areas not in force (month-end: on ${basis.as_of}; counts: during the month): ` +
        `${left.subscribers} subscriber gauges, ${left.bts} BTS stations, ${left.esign} e-documents, ${left.egov} dossier steps (pnpm pulse areas retired finds them)\n`,
    );
  }
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
      ...basis,
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
      ` (thuê bao và trạm BTS tại thời điểm cuối kỳ${figures.gaugesFrom === "current" ? ": tháng chưa kết thúc, số liệu hiện tại" : ""}; văn bản và hồ sơ trong tháng;` +
      ` theo ${basis.by === "commune" ? "xã, phường, cộng theo huyện cũ" : "huyện"})\n` +
      (basis.not_reported.subscribers.length + basis.not_reported.bts.length > 0
        ? `${notReportedLabel}: ${[
            ...basis.not_reported.subscribers.map((c) => `${sourceName(c)} (thuê bao)`),
            ...basis.not_reported.bts.map((c) => `${sourceName(c)} (trạm BTS)`),
          ].join(", ")}\n`
        : "") +
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
