/**
 * The KPI formulas of DESIGN.md ("Freshness and KPIs"), one definition each. Every formula is a
 * ratio 0–1 and returns null when its denominator is zero (no documents yet today is "no figure",
 * not 0 %). The exporter shows null as NaN; screens show a dash.
 */
import { kpiTargets } from "@pulse/seeds";
import { localDayStart } from "./freshness";

export const kpis = ["esign_rate", "esign_rate_30d", "online_share", "online_full_share", "ontime_rate", "ftth_coverage"] as const;
export type Kpi = (typeof kpis)[number];

const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);

/** Signing rate = signed / exchanged (today, or over the last 30 days). */
export const esignRate = (c: { signed: number; exchanged: number }): number | null => ratio(c.signed, c.exchanged);

/** Dossier steps of one day by channel and status (only `received` steps count for shares). */
export interface EgovDayCounts {
  /** `received` steps by channel. */
  received: { online_full: number; online_partial: number; in_person: number };
  resolvedOnTime: number;
  resolvedLate: number;
}

const receivedTotal = (c: EgovDayCounts): number => c.received.online_full + c.received.online_partial + c.received.in_person;

/** Online share = (online_full + online_partial) / received. */
export const onlineShare = (c: EgovDayCounts): number | null => ratio(c.received.online_full + c.received.online_partial, receivedTotal(c));

/** Full-online share = online_full / received. */
export const onlineFullShare = (c: EgovDayCounts): number | null => ratio(c.received.online_full, receivedTotal(c));

/** On-time rate = resolved_on_time / (resolved_on_time + resolved_late); rejected dossiers are excluded. */
export const ontimeRate = (c: EgovDayCounts): number | null => ratio(c.resolvedOnTime, c.resolvedOnTime + c.resolvedLate);

/**
 * FTTH coverage = FTTH households / households. FTTH subscriptions are counted per household,
 * summed over carriers (a household has one fibre line) and districts.
 */
export const ftthCoverage = (ftthHouseholds: number, households: number): number | null => ratio(ftthHouseholds, households);

/** Start of "today" (UTC+7 calendar day) as epoch ms: the day bucket the "today" figures read. */
export const todayStart = (now: number): number => localDayStart(now);

/** The first day bucket of the 30-day window ending today (today and the 29 days before it). */
export const last30DaysStart = (now: number): number => localDayStart(now) - 29 * 86_400_000;

/** Vietnamese and English labels of each KPI, and its target where seeds set one. */
export const kpiLabels: Record<Kpi, { vi: string; en: string; target: number | null }> = {
  esign_rate: {
    vi: kpiTargets.esign_rate?.label_vi ?? "Tỷ lệ văn bản ký số",
    en: kpiTargets.esign_rate?.label_en ?? "E-documents digitally signed",
    target: kpiTargets.esign_rate?.target ?? null,
  },
  esign_rate_30d: {
    vi: "Tỷ lệ văn bản ký số (30 ngày)",
    en: "E-documents digitally signed (30 days)",
    target: kpiTargets.esign_rate?.target ?? null,
  },
  online_share: {
    vi: kpiTargets.online_share?.label_vi ?? "Tỷ lệ hồ sơ trực tuyến",
    en: kpiTargets.online_share?.label_en ?? "Dossiers submitted online",
    target: kpiTargets.online_share?.target ?? null,
  },
  online_full_share: {
    vi: kpiTargets.online_full_share?.label_vi ?? "Tỷ lệ hồ sơ trực tuyến toàn trình",
    en: kpiTargets.online_full_share?.label_en ?? "Dossiers fully online",
    target: kpiTargets.online_full_share?.target ?? null,
  },
  ontime_rate: {
    vi: kpiTargets.ontime_rate?.label_vi ?? "Tỷ lệ giải quyết đúng hạn",
    en: kpiTargets.ontime_rate?.label_en ?? "Dossiers resolved on time",
    target: kpiTargets.ontime_rate?.target ?? null,
  },
  ftth_coverage: {
    vi: kpiTargets.ftth_coverage?.label_vi ?? "Hộ gia đình dùng cáp quang",
    en: kpiTargets.ftth_coverage?.label_en ?? "Households on FTTH",
    target: kpiTargets.ftth_coverage?.target ?? null,
  },
};
