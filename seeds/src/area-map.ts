import { dayNumber, dayOf, localDayNumber } from "./local-day";

export type AreaLevel = "province" | "district" | "commune";

/** One area as it was in force: an area is identified by (code, valid_from), codes are reused. */
export interface Area {
  code: string;
  level: AreaLevel;
  parent: string | null;
  name_vi: string;
  name_en: string;
  /** First UTC+7 day in force; null: since before Pulse's records begin. */
  valid_from: string | null;
  /** Last UTC+7 day in force (included); null: in force now. */
  valid_to: string | null;
  /** Communes: the district in force on 2025-06-30 that held it. */
  former_district?: string;
  /** Communes: `phuong` (ward) or `xa` (commune). */
  type?: string;
}

/** From `from` on, the ground of a retired `code` belongs to `into`. */
export interface Succession {
  code: string;
  from: string;
  into: string[];
  by?: string;
}

/** How `judge` answers for one code on one day. */
export type AreaJudgement =
  | { ok: true; area: Area }
  | { ok: false; reason: "retired_area"; retiredOn: string; successors: Area[] }
  | { ok: false; reason: "unknown_area"; inForceFrom: string | null };

const open = { from: -Infinity, to: Infinity };

interface Version {
  area: Area;
  from: number;
  to: number;
}

/**
 * The province's areas through time. Every question takes the day it is about, never a day fixed
 * at start: at midnight UTC+7 a running service moves to the next map by itself.
 */
export class AreaMap {
  readonly province: Area;
  readonly all: readonly Area[];
  private readonly versions = new Map<string, Version[]>();
  private readonly successions = new Map<string, Succession[]>();
  private readonly dayCache = new Map<number, readonly Area[]>();
  private formerOf: Map<string, string> | undefined;

  constructor(areas: readonly Area[], successions: readonly Succession[], provinceCode: string) {
    this.all = areas;
    for (const area of areas) {
      const v: Version = {
        area,
        from: area.valid_from === null ? open.from : dayNumber(area.valid_from),
        to: area.valid_to === null ? open.to : dayNumber(area.valid_to),
      };
      const list = this.versions.get(area.code) ?? [];
      list.push(v);
      list.sort((a, b) => a.from - b.from);
      this.versions.set(area.code, list);
    }
    for (const s of successions) {
      const list = this.successions.get(s.code) ?? [];
      list.push(s);
      list.sort((a, b) => dayNumber(a.from) - dayNumber(b.from));
      this.successions.set(s.code, list);
    }
    const province = this.versions.get(provinceCode)?.[0]?.area;
    if (!province) throw new Error(`seeds: the province ${provinceCode} is not among the areas`);
    this.province = province;
  }

  /** The area `code` as in force on UTC+7 day number `day`, or undefined. */
  at(code: string, day: number): Area | undefined {
    const list = this.versions.get(code);
    if (!list) return undefined;
    for (const v of list) if (v.from <= day && day <= v.to) return v.area;
    return undefined;
  }

  /** `at` for an instant (epoch ms), judged on its UTC+7 day. */
  atTime(code: string, ms: number): Area | undefined {
    return this.at(code, localDayNumber(ms));
  }

  /** Is `code` a code of this province at any time? */
  known(code: string): boolean {
    return this.versions.has(code);
  }

  /** Every version of `code`, oldest first. */
  versionsOf(code: string): readonly Area[] {
    return (this.versions.get(code) ?? []).map((v) => v.area);
  }

  /**
   * Whether `code` may be named on `day`: in force, retired (with the units in force that day that
   * took its ground, resolved through every step), or unknown (with the day it comes into force).
   */
  judge(code: string, day: number): AreaJudgement {
    const area = this.at(code, day);
    if (area) return { ok: true, area };
    const list = this.versions.get(code);
    if (!list) return { ok: false, reason: "unknown_area", inForceFrom: null };
    const earlier = list.filter((v) => v.to < day);
    if (earlier.length === 0) return { ok: false, reason: "unknown_area", inForceFrom: dayOf(list[0]!.from) };
    const last = earlier[earlier.length - 1]!;
    return { ok: false, reason: "retired_area", retiredOn: dayOf(last.to + 1), successors: this.successorsOn(code, day) };
  }

  /** The areas in force on `day` that now hold the ground of `code`, following successions. */
  successorsOn(code: string, day: number, depth = 0): Area[] {
    if (depth > 16) return [];
    const steps = (this.successions.get(code) ?? []).filter((s) => dayNumber(s.from) <= day);
    const step = steps[steps.length - 1];
    if (!step) return [];
    const out: Area[] = [];
    for (const c of step.into) {
      const now = this.at(c, day);
      if (now && c !== code) out.push(now);
      else out.push(...this.successorsOn(c, day, depth + 1));
    }
    return [...new Map(out.map((a) => [a.code, a])).values()];
  }

  /** The areas in force on `day`, province first, then by code. */
  inForce(day: number): readonly Area[] {
    let list = this.dayCache.get(day);
    if (!list) {
      list = Object.freeze(
        this.all
          .filter((a) => this.at(a.code, day) === a)
          .sort((a, b) => (a.level === "province" ? -1 : b.level === "province" ? 1 : a.code.localeCompare(b.code))),
      );
      if (this.dayCache.size > 64) this.dayCache.clear();
      this.dayCache.set(day, list);
    }
    return list;
  }

  /** The lowest-level areas in force on `day` (where carriers report: districts, then communes). */
  leavesOn(day: number): readonly Area[] {
    return this.inForce(day).filter((a) => a.level !== "province");
  }

  /** Codes of the lowest-level areas in force on `day`, as a set. */
  leafCodesOn(day: number): ReadonlySet<string> {
    return new Set(this.leavesOn(day).map((a) => a.code));
  }

  /**
   * The former district whose ground `code` lies in, from seeds alone: a commune names its own; a
   * district that is some commune's former district is its own; one merged earlier (413 into 412 on
   * 2025-01-01) follows its successions until it reaches one. Undefined for the province and others.
   */
  formerDistrictOf(code: string): string | undefined {
    if (!this.formerOf) {
      const out = new Map<string, string>();
      const formers = new Set(this.all.map((a) => a.former_district).filter((c): c is string => c !== undefined));
      const resolve = (c: string, depth: number): string | undefined => {
        if (formers.has(c)) return c;
        if (depth > 8) return undefined;
        const last = this.versionsOf(c).at(-1);
        if (!last || last.valid_to === null) return undefined;
        for (const s of this.successorsOn(c, dayNumber(last.valid_to) + 1)) {
          const f = s.former_district ?? resolve(s.code, depth + 1);
          if (f) return f;
        }
        return undefined;
      };
      for (const a of this.all) {
        if (a.level === "province") continue;
        const f = a.former_district ?? resolve(a.code, 0);
        if (f) out.set(a.code, f);
      }
      this.formerOf = out;
    }
    return this.formerOf.get(code);
  }

  /** The former districts (as of 2025-06-30) and, for each, its communes in force on `day`. */
  formerDistrictsOn(day: number): { district: Area; communes: Area[] }[] {
    const byDistrict = new Map<string, Area[]>();
    for (const a of this.leavesOn(day)) {
      if (!a.former_district) continue;
      const list = byDistrict.get(a.former_district) ?? [];
      list.push(a);
      byDistrict.set(a.former_district, list);
    }
    return [...byDistrict.entries()]
      .map(([code, communes]) => ({ district: this.versionsOf(code).at(-1)!, communes }))
      .filter((d) => d.district !== undefined)
      .sort((a, b) => a.district.code.localeCompare(b.district.code));
  }
}
