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
export interface KpiTarget {
  target: number;
  baseline: number | null;
  label_vi: string;
  label_en: string;
}
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
  /** Households per district (2024): the simulator's own assumption, from no source. */
  assumed_district_households: Record<string, number | string>;
}
