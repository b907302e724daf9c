import { localDayNumber, simulation, sources } from "@pulse/seeds";
import { areaOn } from "./areas";
import { carriers, subscriberPlan, type Gauge } from "./calibration";
import { normal, rngFor } from "./prng";
import type { SimProcess, SimRecord } from "./record";

const cadenceOf = (source: string) => (sources.find((s) => s.id === source)?.feeds.subscribers?.cadence_s ?? 300) * 1000;

type Part = Gauge & { value: number };

/**
 * The carriers' subscriber counts: at `t0` every gauge at the article's split (totals exact), then
 * each carrier sends all its gauges at its cadence (faster with rate > 1), each drifting slowly:
 * a small daily growth of seeds plus a random walk of a few per hundred thousand per reading.
 * A reading is one (carrier, service, area) of the map of its day: the sum of the parts placed
 * there (a district before 2025-07-01, a commune or ward from it).
 */
export class SubscribersProcess implements SimProcess {
  readonly name = "subscribers";
  private readonly gauges: Part[];
  private groupDay = Number.NaN;
  private groups = new Map<string, Part[]>();
  private readonly next = new Map<string, number>();
  private readonly interval = new Map<string, number>();
  private inventorySent = false;

  constructor(
    private readonly seed: number,
    private readonly rate: number,
    private readonly t0: number,
    /** Counts to carry on from (a restart), by `source/service/area`; the article's split otherwise. */
    resumeFrom: ReadonlyMap<string, number> = new Map(),
  ) {
    this.gauges = subscriberPlan().map((g) => ({ ...g, value: g.count }));
    // A restart carries on from the counts last sent for the areas of its day: each read-back
    // count is shared over that area's parts in proportion to the plan.
    for (const [key, parts] of this.groupsOn(t0)) {
      const resumed = resumeFrom.get(key);
      if (resumed === undefined) continue;
      const planned = parts.reduce((n, p) => n + p.count, 0);
      for (const p of parts) p.value = planned > 0 ? (resumed * p.count) / planned : resumed / parts.length;
    }
    for (const c of carriers) {
      const iv = Math.max(1_000, Math.round(cadenceOf(c) / Math.max(1, rate)));
      this.interval.set(c, iv);
      this.next.set(c, (Math.floor(t0 / iv) + 1) * iv);
    }
  }

  take(untilMs: number): SimRecord[] {
    const out: SimRecord[] = [];
    if (!this.inventorySent && this.t0 < untilMs) {
      this.inventorySent = true;
      for (const [key, parts] of this.groupsOn(this.t0)) out.push(this.reading(key, parts, this.t0, "i"));
    }
    for (const c of carriers) {
      const iv = this.interval.get(c)!;
      for (let t = this.next.get(c)!; t < untilMs; t += iv) {
        const rng = rngFor(this.seed, "subscribers", c, t);
        const days = iv / 86_400_000;
        for (const g of this.gauges) {
          if (g.source !== c) continue;
          const growth = (simulation.subscribers.drift_per_day[g.service] ?? 0) * days;
          g.value = Math.max(0, g.value * (1 + growth + 0.00003 * normal(rng)));
        }
        for (const [key, parts] of this.groupsOn(t)) if (parts[0]!.source === c) out.push(this.reading(key, parts, t, ""));
        this.next.set(c, t + iv);
      }
    }
    return out.sort((a, b) => a.tsMs - b.tsMs);
  }

  /** The parts by `source/service/area` of the map of `t`'s UTC+7 day (kept for the last day asked). */
  private groupsOn(t: number): Map<string, Part[]> {
    const day = localDayNumber(t);
    if (day !== this.groupDay) {
      this.groups = new Map();
      for (const g of this.gauges) {
        const key = `${g.source}/${g.service}/${areaOn(g.district, g.area, day)}`;
        const list = this.groups.get(key);
        if (list) list.push(g);
        else this.groups.set(key, [g]);
      }
      this.groupDay = day;
    }
    return this.groups;
  }

  private reading(key: string, parts: Part[], t: number, tag: string): SimRecord {
    const area = key.slice(key.lastIndexOf("/") + 1);
    const { source, service } = parts[0]!;
    return {
      feed: "subscribers",
      source,
      id: `${service}.${area}.${t}${tag}`,
      revision: 0,
      tsMs: t,
      area,
      data: { service, count: Math.round(parts.reduce((n, p) => n + p.value, 0)) },
    };
  }
}
