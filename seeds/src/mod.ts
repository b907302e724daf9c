/**
 * Reference data for Pulse: areas (province → districts, official statistical codes), producers
 * with the feeds each may publish and their cadence, the office-hours calendar, agencies and KPI
 * targets. It is data: a re-drawn map or a new producer is an edit of `seeds/data/*.json`.
 */
import areasJson from "../data/areas.json" with { type: "json" };
import sourcesJson from "../data/sources.json" with { type: "json" };
import calendarJson from "../data/calendar.json" with { type: "json" };
import agenciesJson from "../data/agencies.json" with { type: "json" };
import targetsJson from "../data/targets.json" with { type: "json" };
import simulationJson from "../data/simulation.json" with { type: "json" };

export interface Area {
  code: string;
  level: "province" | "district";
  parent: string | null;
  name_vi: string;
  name_en: string;
  households?: number;
}
export interface SourceFeed {
  cadence_s: number;
}
export interface Source {
  id: string;
  name: string;
  kind: string;
  feeds: Partial<Record<string, SourceFeed>>;
  office_hours: boolean;
}
export interface Calendar {
  time_zone: string;
  weekdays: number[];
  open: string;
  close: string;
  holidays: string[];
}
export interface Agency {
  id: string;
  name_vi: string;
  name_en: string;
  level: "province" | "district" | "commune";
  area: string | null;
}
export interface KpiTarget {
  target: number;
  baseline: number | null;
  label_vi: string;
  label_en: string;
}

export const provinceCode: string = areasJson.province;
export const provinceHouseholds: number = areasJson.households;
export const areas: readonly Area[] = Object.freeze(areasJson.areas as Area[]);
export const districts: readonly Area[] = Object.freeze(areas.filter((a) => a.level === "district"));
export const sources: readonly Source[] = Object.freeze(sourcesJson.sources as Source[]);
export const calendar: Calendar = Object.freeze(calendarJson as Calendar);
export const agencies: readonly Agency[] = Object.freeze(agenciesJson.agencies as Agency[]);
export const kpiTargets: Readonly<Record<string, KpiTarget>> = Object.freeze(targetsJson.kpis as Record<string, KpiTarget>);
export const baselines: Readonly<Record<string, number>> = Object.freeze(targetsJson.baselines);

/** Calibration of the simulator to the article's figures (`seeds/data/simulation.json`). */
export interface SimulationSeed {
  subscribers: {
    totals: Record<string, number>;
    shares: Record<string, Record<string, number>>;
    district_factor: { mobile: Record<string, number>; fibre: Record<string, number> };
    drift_per_day: Record<string, number>;
  };
  bts: {
    total: number;
    stations: Record<string, Record<string, number>>;
    prefix: Record<string, string>;
    only_in: Record<string, string[] | string>;
    district_factor: Record<string, number | string>;
    outages_per_station_day: number;
    outage_minutes: { min: number; median: number; max: number };
    degraded_share: number;
    storms_per_day: number;
    storm_share: { min: number; max: number };
  };
  esign: {
    per_workday: number;
    off_hours_share: number;
    signed_share: number;
    organization_share: number;
    by_level: Record<string, number>;
  };
  egov: {
    received_per_workday: number;
    channels: Record<string, number>;
    levels: Record<string, number>;
    outcomes: Record<string, number>;
    same_day_share: number;
    same_day_minutes: { min: number; max: number };
    earlier_days: { min: number; max: number };
    procedures: Record<string, string[]>;
  };
  office_profile: { slots: { from: string; to: string; weight: number }[] };
}
export const simulation: SimulationSeed = Object.freeze(simulationJson as unknown as SimulationSeed);
