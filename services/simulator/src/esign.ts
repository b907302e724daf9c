import { localDayNumber, simulation } from "@pulse/seeds";
import { districtLevelOn, householdWeightsOn, provincialAgenciesOn } from "./areas";
import { localYymmdd, localDayStart } from "./local-time";
import { offHoursShare, officeShare, slotMs } from "./office-day";
import { pick, poisson, rngFor, weighted } from "./prng";
import type { SimProcess, SimRecord } from "./record";

const docTypes = ["CV", "QĐ", "TB", "KH", "BC", "TTr"] as const;
const shortName = (agency: string) =>
  agency
    .replace(/^so-|^ubnd-/, "")
    .replace(/-/g, "")
    .toUpperCase()
    .slice(0, 8);

/**
 * Documents exchanged on the e-document system (source `edoc`): through office hours with the
 * day's profile, a trickle outside them, about 95.5 % digitally signed, across provincial,
 * district and commune agencies in force on the document's day: from 2025-07-01 the district
 * people's committees' share is the communes' (their work went to the communes), and the
 * departments merged on 2025-03-01 are no longer drawn. Slot by slot from `fromMs`, each slot
 * drawn from its own PRNG.
 */
export class EsignProcess implements SimProcess {
  readonly name = "esign";
  private cursor: number;
  private pending: SimRecord[] = [];
  private lastMs = 0;

  constructor(
    private readonly seed: number,
    private readonly rate: number,
    fromMs: number,
    private readonly tag: string,
  ) {
    this.cursor = Math.floor(fromMs / slotMs) * slotMs;
  }

  take(untilMs: number): SimRecord[] {
    while (this.cursor < untilMs) {
      // One by one: a slot at a high rate is more records than a call takes arguments.
      for (const r of this.slot(this.cursor)) this.pending.push(r);
      this.cursor += slotMs;
    }
    const k = this.pending.findIndex((r) => r.tsMs >= untilMs);
    return k < 0 ? this.pending.splice(0) : this.pending.splice(0, k);
  }

  private slot(t: number): SimRecord[] {
    const e = simulation.esign;
    const rng = rngFor(this.seed, "esign", t);
    const lambda = e.per_workday * this.rate * ((1 - e.off_hours_share) * officeShare(t) + e.off_hours_share * offHoursShare(t));
    const n = poisson(rng, lambda);
    const times = Array.from({ length: n }, () => t + Math.floor(rng() * slotMs)).sort((a, b) => a - b);
    const slotNo = Math.round((t - localDayStart(t)) / slotMs);
    return times.map((at, k) => {
      const tsMs = Math.max(at, this.lastMs + 1);
      this.lastMs = tsMs;
      const day = localDayNumber(tsMs);
      const drawn = weighted(rng, e.by_level as Record<"province" | "district" | "commune", number>);
      const level = drawn === "district" && !districtLevelOn(day) ? "commune" : drawn;
      const agency = level === "province" ? pick(rng, provincialAgenciesOn(day)).id : level === "district" ? "ubnd-huyen" : "ubnd-xa";
      const area = level === "province" ? "40" : weighted(rng, householdWeightsOn(day));
      // Slot and rank: 1370042 is slot 137's 43rd document. Past 9,999 in a slot (a rate of
      // hundreds) the rank gets a dot, so that slot 1's 10,000th is not slot 10's first.
      const serial = k < 10_000 ? `${slotNo}${String(k).padStart(4, "0")}` : `${slotNo}.${k}`;
      return {
        feed: "esign" as const,
        source: "edoc",
        id: `VB-${this.tag}-${localYymmdd(t)}-${serial}`,
        revision: 0,
        tsMs,
        area,
        data: {
          agency,
          doc: `${(slotNo * 10_000 + k) % 100_000}/${pick(rng, docTypes)}-${shortName(agency)}`,
          signed: rng() < e.signed_share,
          signer: rng() < e.organization_share ? ("organization" as const) : ("personal" as const),
        },
      };
    });
  }
}
