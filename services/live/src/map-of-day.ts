import { createHash } from "node:crypto";
import { localDay, localDayNumber, type Area, type AreaMap } from "@pulse/seeds";

/** The map in force on one UTC+7 day, as the gateway's current figures see it. */
export interface MapOfDay {
  /** YYYY-MM-DD (UTC+7). */
  day: string;
  dayNum: number;
  province: Area;
  /** The lowest-level areas in force that day (districts before 2025-07-01, communes from it): where gauges are current. */
  leaves: ReadonlyMap<string, Area>;
  /** The former districts and their communes in force that day (none before the cut-over). */
  formerDistricts: readonly { district: Area; communes: readonly Area[] }[];
  /** The former district whose ground `code` lies in: a commune's, a district's own, or the one it merged into; undefined for others. */
  formerOf(code: string): string | undefined;
  /** Changes exactly when the set of areas in force changes (a short hash of their codes and validity). */
  id: string;
}

const dayCache = new WeakMap<AreaMap, Map<number, MapOfDay>>();

/** The map in force on the UTC+7 day of `ms`, judged from `map` (seeds) each time it is asked: never fixed at start. */
export function mapOfDay(map: AreaMap, ms: number): MapOfDay {
  const dayNum = localDayNumber(ms);
  let cache = dayCache.get(map);
  if (!cache) dayCache.set(map, (cache = new Map()));
  const hit = cache.get(dayNum);
  if (hit) return hit;
  const leaves = new Map(map.leavesOn(dayNum).map((a) => [a.code, a] as const));
  const inForce = map.inForce(dayNum);
  const id = createHash("sha1")
    .update(inForce.map((a) => `${a.code}:${a.valid_from ?? ""}`).join(","))
    .digest("hex")
    .slice(0, 12);
  const m: MapOfDay = {
    day: localDay(ms),
    dayNum,
    province: map.province,
    leaves,
    formerDistricts: map.formerDistrictsOn(dayNum),
    formerOf: (code) => map.formerDistrictOf(code),
    id,
  };
  if (cache.size > 8) cache.clear();
  cache.set(dayNum, m);
  return m;
}
