import { sources } from "@pulse/seeds";
import { simulation } from "@pulse/seeds";
import { carriers, subscriberPlan, type Gauge } from "./calibration";
import { normal, rngFor } from "./prng";
import type { SimProcess, SimRecord } from "./record";

const cadenceOf = (source: string) => (sources.find((s) => s.id === source)?.feeds.subscribers?.cadence_s ?? 300) * 1000;

/**
 * The carriers' subscriber counts: at `t0` every gauge at the article's split (totals exact), then
 * each carrier sends all its gauges at its cadence (faster with rate > 1), each drifting slowly:
 * a small daily growth of seeds plus a random walk of a few per hundred thousand per reading.
 */
export class SubscribersProcess implements SimProcess {
  readonly name = "subscribers";
  private readonly gauges: (Gauge & { value: number })[];
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
    this.gauges = subscriberPlan().map((g) => ({ ...g, value: resumeFrom.get(`${g.source}/${g.service}/${g.area}`) ?? g.count }));
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
      for (const g of this.gauges) out.push(this.reading(g, this.t0, "i"));
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
          out.push(this.reading(g, t, ""));
        }
        this.next.set(c, t + iv);
      }
    }
    return out.sort((a, b) => a.tsMs - b.tsMs);
  }

  private reading(g: Gauge & { value: number }, t: number, tag: string): SimRecord {
    return {
      feed: "subscribers",
      source: g.source,
      id: `${g.service}.${g.area}.${t}${tag}`,
      revision: 0,
      tsMs: t,
      area: g.area,
      data: { service: g.service, count: Math.round(g.value) },
    };
  }
}
