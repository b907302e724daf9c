/**
 * The starting figures, split from the article's totals (seeds/data/simulation.json) so that
 * every split adds up exactly: carriers by share, then districts by the simulator's assumed
 * households × a district factor, then each district's share equally over the communes and wards
 * that now hold its ground (./areas), each with largest remainders.
 */
import { services, type Service, type Tech } from "@pulse/contracts";
import { simulation } from "@pulse/seeds";
import { assumedHouseholds, communesOf, districtCodes, placeInCommune } from "./areas";

/** Splits `total` in proportion to `weights`, whole numbers adding up to `total` exactly. */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map(() => 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) out[order[k]![1]]!++;
  return out;
}

export const carriers = ["viettel", "vinaphone", "mobifone", "vietnamobile"] as const;
export type Carrier = (typeof carriers)[number];

/**
 * One carrier's count of one service for one district's part of one commune (Vinh's wards hold two
 * parts: Vinh's and Cửa Lò's). Readings sum the parts of the area in force on their day.
 */
export interface Gauge {
  source: Carrier;
  service: Service;
  /** The district of the calibration. */
  district: string;
  /** The commune or ward (newest map) holding this part. */
  area: string;
  count: number;
}

const households = assumedHouseholds;

/**
 * One gauge per (carrier, service, district, commune) the carrier sells, totals exactly the
 * article's: split over districts as before the cut-over, then each district's count equally over
 * its communes (largest remainders).
 */
export function subscriberPlan(): Gauge[] {
  const s = simulation.subscribers;
  const out: Gauge[] = [];
  for (const service of services) {
    const factor = service === "mobile" || service === "mobile_broadband" ? s.district_factor.mobile : s.district_factor.fibre;
    const weights = districtCodes.map((c) => households(c) * (factor[c] ?? 1));
    const byCarrier = apportion(
      s.totals[service]!,
      carriers.map((c) => s.shares[service]![c] ?? 0),
    );
    carriers.forEach((source, i) => {
      if (byCarrier[i] === 0) return;
      apportion(byCarrier[i]!, weights).forEach((n, j) => {
        const district = districtCodes[j]!;
        const communes = communesOf(district);
        apportion(
          n,
          communes.map(() => 1),
        ).forEach((count, k) => out.push({ source, service, district, area: communes[k]!.code, count }));
      });
    });
  }
  return out;
}

export interface Station {
  source: Carrier;
  station: string;
  tech: Tech;
  /** The district of the calibration (the station's id names it). */
  district: string;
  /** The commune or ward it stands in (newest map). */
  area: string;
}

/**
 * Every BTS station: carriers × technologies from seeds, spread over districts (5G in Vinh only),
 * ids as before the cut-over (`VTL-412-5G-0001`); each district's stations of one technology
 * placed over its communes in turn.
 */
export function stationPlan(): Station[] {
  const b = simulation.bts;
  const out: Station[] = [];
  for (const source of carriers) {
    const byTech = b.stations[source] ?? {};
    for (const [tech, total] of Object.entries(byTech)) {
      const only = b.only_in[tech];
      const codes = Array.isArray(only) ? only : districtCodes;
      const weights = codes.map((c) => households(c) * Number(b.district_factor[c] ?? 1));
      apportion(total, weights).forEach((n, j) => {
        for (let k = 1; k <= n; k++) {
          out.push({
            source,
            tech: tech as Tech,
            district: codes[j]!,
            area: placeInCommune(codes[j]!, k - 1),
            station: `${b.prefix[source]}-${codes[j]}-${tech}-${String(k).padStart(4, "0")}`,
          });
        }
      });
    }
  }
  return out;
}
