/**
 * Reference data for Pulse: areas and agencies as dated data (province → districts until
 * 2025-06-30 → communes and wards from 2025-07-01, official statistical codes), producers with the
 * feeds each may publish and their cadence, the office-hours calendar, KPI targets and the
 * simulator's calibration. It is data: a re-drawn map or a new producer is an edit of the JSON
 * files in the seeds directory, never of code.
 *
 * The directory is `seeds/data` unless `PULSE_SEEDS_DIR` names another (read once, here: seeds are
 * read by contracts' decoder at module load, before any service's config exists).
 */
import { loadSeeds } from "./load-seeds";

export { loadSeeds, defaultSeedsDir, type Seeds } from "./load-seeds";
export { AreaMap, type Area, type AreaLevel, type AreaJudgement, type Succession } from "./area-map";
export { AgencyMap, type Agency, type AgencyJudgement } from "./agency-map";
export { localDay, localDayNumber, dayNumber, dayOf, provinceOffsetMs } from "./local-day";
export type { Source, SourceFeed, Calendar, KpiTarget, SimulationSeed } from "./types";

/** The seeds in force for this process. */
export const seeds = loadSeeds(process.env.PULSE_SEEDS_DIR);

export const provinceCode: string = seeds.provinceCode;
/** The province's households: the one sourced denominator of FTTH coverage. */
export const provinceHouseholds: number = seeds.provinceHouseholds;
export const areaMap = seeds.areaMap;
export const retiredLevels = seeds.retiredLevels;
/** Every area version, dated. */
export const areas = seeds.areaMap.all;
export const agencyMap = seeds.agencyMap;
export const agencies = seeds.agencyMap.all;
export const sources = seeds.sources;
export const calendar = seeds.calendar;
export const kpiTargets = seeds.kpiTargets;
export const baselines = seeds.baselines;
export const simulation = seeds.simulation;
