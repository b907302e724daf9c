/**
 * Where the simulator's figures stand on the map of the day they are dated (seeds' dated areas).
 *
 * The calibration is by district (the article's year, 2024: `assumed_district_households` and the
 * district factors of simulation.json). Each district's figures are split equally over the
 * communes and wards that now hold its ground (those whose former district is the district, or the
 * district it merged into: Cửa Lò's into Vinh's), an assumption of the simulator written in
 * docs/simulator.md: no source gives per-commune figures. A record is then placed on the map of its
 * own UTC+7 day: the district while it is in force, the commune once communes are.
 */
import { agencyMap, areaMap, areas, dayNumber, retiredLevels, simulation, type Agency, type Area } from "@pulse/seeds";

/** Districts of the calibration, in code order (every district of seeds, whatever its end). */
export const districtCodes: readonly string[] = [...new Set(areas.filter((a) => a.level === "district").map((a) => a.code))].sort();

/** The first day of the newest map: the day communes came into force (2025-07-01). */
const newestMapDay = Math.max(...areas.map((a) => (a.valid_from === null ? -Infinity : dayNumber(a.valid_from))));
const newestLeaves = areaMap.leavesOn(newestMapDay);

/** The simulator's households of a district (an assumption: see simulation.json). */
export function assumedHouseholds(district: string): number {
  const h = simulation.assumed_district_households[district];
  return typeof h === "number" ? h : 0;
}

/** The districts in force on the eve of the newest map that took a district's ground (itself if in force then). */
function holders(district: string): string[] {
  const eve = newestMapDay - 1;
  if (areaMap.at(district, eve)) return [district];
  return areaMap.successorsOn(district, eve).map((a) => a.code);
}

/** The communes and wards (newest map) over which a district's figures are split, in code order. */
export function communesOf(district: string): readonly Area[] {
  const held = new Set(holders(district));
  return newestLeaves.filter((a) => a.former_district !== undefined && held.has(a.former_district));
}

/** The commune or ward the `k`-th of a district's items (0-based) is placed in: round robin, so stable. */
export function placeInCommune(district: string, k: number): string {
  const list = communesOf(district);
  return list[k % list.length]!.code;
}

/**
 * The area a figure of `district` placed in `commune` is reported under on UTC+7 day number `day`:
 * the district while it is in force, then the commune; in between (a district merged before the
 * communes came, Cửa Lò from 2025-01-01) the commune's former district.
 */
export function areaOn(district: string, commune: string, day: number): string {
  if (areaMap.at(district, day)) return district;
  if (areaMap.at(commune, day)) return commune;
  const former = areaMap.versionsOf(commune)[0]?.former_district;
  return former ?? commune;
}

/** Every (district, commune) pair with its share of the district's figures. */
export const units: readonly { district: string; commune: string; share: number }[] = districtCodes.flatMap((d) => {
  const list = communesOf(d);
  return list.map((c) => ({ district: d, commune: c.code, share: 1 / list.length }));
});

const weightCache = new Map<number, Record<string, number>>();

/**
 * The simulator's households of each area in force on `day` (districts before 2025-07-01, communes
 * and wards from it), for drawing where a document or dossier comes from. Sums to the assumed
 * districts' total on every day.
 */
export function householdWeightsOn(day: number): Record<string, number> {
  let w = weightCache.get(day);
  if (!w) {
    w = {};
    for (const u of units) {
      const area = areaOn(u.district, u.commune, day);
      w[area] = (w[area] ?? 0) + assumedHouseholds(u.district) * u.share;
    }
    if (weightCache.size > 16) weightCache.clear();
    weightCache.set(day, w);
  }
  return w;
}

/** The last day the district level was in force (2025-06-30): later records are re-expressed. */
const districtLevelLastDay = retiredLevels.district ? dayNumber(retiredLevels.district.valid_to) : Infinity;

/** Is the district level of government still in force on `day`? */
export const districtLevelOn = (day: number): boolean => day <= districtLevelLastDay;

const provincialCache = new Map<number, Agency[]>();

/** The provincial agencies (departments) in force on `day`: the merged ones end on 2025-02-28. */
export function provincialAgenciesOn(day: number): readonly Agency[] {
  let list = provincialCache.get(day);
  if (!list) {
    list = agencyMap.inForce(day).filter((a) => a.level === "province");
    if (provincialCache.size > 16) provincialCache.clear();
    provincialCache.set(day, list);
  }
  return list;
}
