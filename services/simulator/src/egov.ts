import type { Channel, EgovStatus, Level } from "@pulse/contracts";
import { localDayNumber, simulation } from "@pulse/seeds";
import { districtLevelOn, householdWeightsOn, provincialAgenciesOn } from "./areas";
import { localDayStart, localYymmdd, workdaysBefore } from "./local-time";
import { officeShare, slotMs } from "./office-day";
import { intIn, pick, poisson, rngFor, weighted, type Rng } from "./prng";
import { RecordHeap, type SimProcess, type SimRecord } from "./record";

/**
 * Dossiers on the public-service portal (source `dvc`), in office hours only: each received
 * (step `…:received`), and later resolved on time, late, or rejected (step `…:resolved`). About
 * a third are settled the same day after 20 minutes to 4 hours; the others are settled on a later
 * working day, which the portal reports as the resolution steps of dossiers received 1–10
 * working days earlier (their received step came before this run). Levels, agencies and areas
 * are those in force on the slot's day: from 2025-07-01 a dossier drawn at district level is a
 * commune's (the two-tier reform moved the district's procedures to the communes; its procedure
 * stays one of the district list), from 2025-03-01 the merged departments are not drawn.
 */
export class EgovProcess implements SimProcess {
  readonly name = "egov";
  private cursor: number;
  private readonly heap = new RecordHeap();
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
      this.slot(this.cursor);
      this.cursor += slotMs;
    }
    const out: SimRecord[] = [];
    this.heap.popBefore(untilMs, out);
    for (const r of out) {
      r.tsMs = Math.max(r.tsMs, this.lastMs + 1);
      this.lastMs = r.tsMs;
    }
    return out;
  }

  private slot(t: number): void {
    const g = simulation.egov;
    const share = officeShare(t);
    if (share === 0) return;
    const rng = rngFor(this.seed, "egov", t);
    const slotNo = Math.round((t - localDayStart(t)) / slotMs);
    const received = poisson(rng, g.received_per_workday * this.rate * share);
    for (let k = 0; k < received; k++) {
      const at = t + Math.floor(rng() * slotMs);
      const d = this.dossier(rng, `H40-${this.tag}-${localYymmdd(t)}-${slotNo}.${k}`, t);
      this.heap.push(this.step(d, at, "received"));
      if (rng() < g.same_day_share) {
        const status: EgovStatus = rng() < g.outcomes.rejected! ? "rejected" : "resolved_on_time";
        this.heap.push(this.step(d, at + intIn(rng, g.same_day_minutes.min, g.same_day_minutes.max) * 60_000, status));
      }
    }
    // Dossiers from earlier working days settled in this slot: as many as are received, less the same-day share.
    const settled = poisson(rng, g.received_per_workday * this.rate * share * (1 - g.same_day_share));
    for (let k = 0; k < settled; k++) {
      const at = t + Math.floor(rng() * slotMs);
      const from = workdaysBefore(t, intIn(rng, g.earlier_days.min, g.earlier_days.max));
      const d = this.dossier(rng, `H40-${this.tag}-${localYymmdd(from)}-${localYymmdd(t)}.${slotNo}.${k}`, t);
      this.heap.push(this.step(d, at, weighted(rng, g.outcomes as Record<EgovStatus, number>)));
    }
  }

  private dossier(rng: Rng, id: string, t: number) {
    const g = simulation.egov;
    const day = localDayNumber(t);
    const drawn = weighted(rng, g.levels as Record<Level, number>);
    const level: Level = drawn === "district" && !districtLevelOn(day) ? "commune" : drawn;
    return {
      id,
      level,
      channel: weighted(rng, g.channels as Record<Channel, number>),
      agency: level === "province" ? pick(rng, provincialAgenciesOn(day)).id : level === "district" ? "ubnd-huyen" : "ubnd-xa",
      area: level === "province" ? "40" : weighted(rng, householdWeightsOn(day)),
      procedure: pick(rng, g.procedures[drawn]!),
    };
  }

  private step(d: ReturnType<EgovProcess["dossier"]>, at: number, status: EgovStatus): SimRecord {
    return {
      feed: "egov",
      source: "dvc",
      id: `${d.id}:${status === "received" ? "received" : "resolved"}`,
      revision: 0,
      tsMs: at,
      area: d.area,
      data: { procedure: d.procedure, agency: d.agency, level: d.level, channel: d.channel, status },
    };
  }
}
