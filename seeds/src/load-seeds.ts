import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { AgencyMap, type Agency } from "./agency-map";
import { AreaMap, type Area, type Succession } from "./area-map";
import type { Calendar, KpiTarget, SimulationSeed, Source } from "./types";

/** `seeds/data` in this repository. */
export const defaultSeedsDir = resolve(dirname(fileURLToPath(import.meta.url)), "../data");

export interface Seeds {
  dir: string;
  provinceCode: string;
  provinceHouseholds: number;
  areaMap: AreaMap;
  /** Levels of government that ended: the last day in force, and how long later steps may name it. */
  retiredLevels: Readonly<Record<string, { valid_to: string; grace_to: string }>>;
  agencyMap: AgencyMap;
  sources: readonly Source[];
  calendar: Calendar;
  kpiTargets: Readonly<Record<string, KpiTarget>>;
  baselines: Readonly<Record<string, number>>;
  simulation: SimulationSeed;
}

function read<T>(dir: string, file: string): T {
  const path = join(dir, file);
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch (err) {
    throw new Error(`seeds: cannot read ${path}: ${(err as Error).message} (PULSE_SEEDS_DIR names the seeds directory)`, { cause: err });
  }
}

/** Reads and checks a seeds directory (default `seeds/data`). Throws naming the file on bad data. */
export function loadSeeds(dir: string | undefined = undefined): Seeds {
  const root = dir && dir !== "" ? resolve(dir) : defaultSeedsDir;
  const areasJson = read<{
    province: string;
    households: number;
    levels?: Record<string, { valid_to: string; grace_to: string } | string>;
    areas: Area[];
    successions?: Succession[];
  }>(root, "areas.json");
  const sourcesJson = read<{ sources: Source[] }>(root, "sources.json");
  const agenciesJson = read<{ agencies: Agency[] }>(root, "agencies.json");
  const targetsJson = read<{ kpis: Record<string, KpiTarget>; baselines: Record<string, number> }>(root, "targets.json");
  for (const a of areasJson.areas) {
    if (a.valid_from !== null && a.valid_to !== null && a.valid_to < a.valid_from) {
      throw new Error(`seeds: area ${a.code} in ${root}/areas.json ends (${a.valid_to}) before it begins (${a.valid_from})`);
    }
  }
  return Object.freeze({
    dir: root,
    provinceCode: areasJson.province,
    provinceHouseholds: areasJson.households,
    areaMap: new AreaMap(Object.freeze(areasJson.areas), areasJson.successions ?? [], areasJson.province),
    retiredLevels: Object.freeze(
      Object.fromEntries(
        Object.entries(areasJson.levels ?? {}).filter(
          (e): e is [string, { valid_to: string; grace_to: string }] => typeof e[1] === "object",
        ),
      ),
    ),
    agencyMap: new AgencyMap(Object.freeze(agenciesJson.agencies)),
    sources: Object.freeze(sourcesJson.sources),
    calendar: Object.freeze(read<Calendar>(root, "calendar.json")),
    kpiTargets: Object.freeze(targetsJson.kpis),
    baselines: Object.freeze(targetsJson.baselines),
    simulation: Object.freeze(read<SimulationSeed>(root, "simulation.json")),
  });
}
