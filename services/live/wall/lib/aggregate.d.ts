// Types of aggregate.js for the TypeScript tests.
import type { LiveStore } from "./store.js";
export interface Area {
  code: string;
  level: string;
  parent: string | null;
  name_vi: string;
  name_en: string;
  former_district?: string | null;
  type?: string | null;
  valid_from: string | null;
  valid_to: string | null;
}
export interface DayMap {
  day: string;
  province: Area;
  leaves: Map<string, Area>;
  formerDistricts: { district: Area; communes: Area[] }[];
  formerOf(code: string): string | undefined;
}
export interface WallConfig {
  operator_name: string;
  areas: readonly Area[];
  sources: readonly {
    id: string;
    name: string;
    kind: string;
    feeds: Partial<Record<string, { cadence_s: number }>>;
    office_hours: boolean;
  }[];
  targets: Readonly<Record<string, { target: number; baseline: number | null }>>;
  baselines: Readonly<Record<string, number>>;
  households: number;
  province: string;
  hash?: string;
  today?: { day: string; map: string; leaves: string[]; former_districts: { code: string; communes: string[] }[] };
}
export interface FeedView {
  state: string;
  reported: number;
  total: number;
  kind: "carrier" | "system";
  lastReceivedMs: number | null;
  sources: { id: string; name: string; state: string; lastReceivedMs: number | null }[];
}
export interface SubscriberTile {
  total: number | null;
  byCarrier: { id: string; name: string; value: number | null; state: string }[];
}
export interface WallView {
  area: string;
  scope: string;
  whole: boolean;
  areaVi: string;
  areaEn: string;
  today: string | null;
  feeds: Record<string, FeedView>;
  subscribers: Record<string, SubscriberTile>;
  ftth: { households: number | null; of: number | null; coverage: number | null; target: number | null; baseline: number | null };
  bts: {
    rows: { tech: string; up: number; degraded: number; down: number; total: number }[];
    total: number | null;
    down: number | null;
    degraded: number | null;
  };
  alarms: {
    total: number;
    rows: {
      source: string;
      station: string;
      tech: string;
      area: string;
      sinceMs: number;
      carrier: string;
      areaVi: string;
      areaEn: string;
      formerVi: string;
      formerEn: string;
      forMs: number | null;
    }[];
  };
  esign: { exchanged: number | null; signed: number | null; rate: number | null; target: number | null };
  egov: {
    lastMinute: number | null;
    hour: number;
    series: { xs: number[]; ys: number[] };
    receivedToday: number | null;
    onlineShare: number | null;
    onlineFullShare: number | null;
    onlinePartialShare: number | null;
    onlineTarget: number | null;
    onlineFullTarget: number | null;
    ontimeRate: number | null;
    ontimeTarget: number | null;
    onTime: number | null;
    late: number | null;
  };
  reported: string[];
  retired: number;
}
export declare const services: readonly ["mobile", "mobile_broadband", "fixed_broadband"];
export declare const techs: readonly ["2G", "3G", "4G", "5G"];
export declare const feeds: readonly ["subscribers", "bts", "esign", "egov"];
export declare const shortNames: Record<string, string>;
export declare function feedStates(store: LiveStore, config: WallConfig): Record<string, FeedView>;
export declare const byVietnamese: (a: string, b: string) => number;
export declare function inForceOn(a: Area, day: string): boolean;
export declare function mapOn(config: WallConfig, day: string): DayMap;
export declare function scopeOf(config: WallConfig, day: string, area: string): string | null;
export declare function dayOf(config: WallConfig, nowMs: number | null): string;
export declare function areaName(a: Area | undefined, lang: "vi" | "en"): string;
export declare function kpiOf(store: LiveStore, kpi: string, area: string, scope: string): number | null;
export declare function rollupOf(store: LiveStore, scope: string, area: string): Record<string, number | string> | null;
export declare function buildView(
  store: LiveStore,
  config: WallConfig,
  at: { area: string; nowMs: number | null; alarmRows?: number },
): WallView;
