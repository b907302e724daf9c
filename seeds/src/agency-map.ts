import { dayNumber, dayOf } from "./local-day";

export interface Agency {
  id: string;
  name_vi: string;
  name_en: string;
  level: "province" | "district" | "commune";
  /** The area it serves; null: any area of its level. */
  area: string | null;
  /** First UTC+7 day in force; null: since before Pulse's records begin. */
  valid_from: string | null;
  /** Last UTC+7 day in force (included); null: in force now. */
  valid_to: string | null;
  /** Who took over its work, for one that ended. */
  successor?: string;
}

export type AgencyJudgement = { ok: true } | { ok: false; reason: "retired_agency"; endedOn: string; successor: Agency | null };

/** Seeded agencies through time. An id seeds do not list is accepted as it comes. */
export class AgencyMap {
  private readonly byId: Map<string, { agency: Agency; from: number; to: number }>;

  constructor(readonly all: readonly Agency[]) {
    this.byId = new Map(
      all.map((a) => [
        a.id,
        {
          agency: a,
          from: a.valid_from === null ? -Infinity : dayNumber(a.valid_from),
          to: a.valid_to === null ? Infinity : dayNumber(a.valid_to),
        },
      ]),
    );
  }

  get(id: string): Agency | undefined {
    return this.byId.get(id)?.agency;
  }

  /**
   * Whether agency `id` may be named on UTC+7 day number `day`: refused only past its `valid_to`
   * (an id seeds do not list, or a record dated before an agency began, is taken as it comes).
   */
  judge(id: string, day: number): AgencyJudgement {
    const v = this.byId.get(id);
    if (!v || day <= v.to) return { ok: true };
    let successor = v.agency.successor ? (this.get(v.agency.successor) ?? null) : null;
    // Follow the chain to whoever is in force that day (a successor may itself have ended).
    for (let i = 0; successor && i < 8; i++) {
      const s = this.byId.get(successor.id)!;
      if (s.from <= day && day <= s.to) break;
      successor = successor.successor ? (this.get(successor.successor) ?? null) : null;
    }
    return { ok: false, reason: "retired_agency", endedOn: dayOf(v.to), successor };
  }

  /** The seeded agencies in force on `day`. */
  inForce(day: number): Agency[] {
    return [...this.byId.values()].filter((v) => v.from <= day && day <= v.to).map((v) => v.agency);
  }
}
