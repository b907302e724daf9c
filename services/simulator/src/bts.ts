import type { BtsStatus } from "@pulse/contracts";
import { areaMap, localDayNumber, simulation, sources } from "@pulse/seeds";
import { areaOn } from "./areas";
import { carriers, stationPlan, type Station } from "./calibration";
import { intIn, logNormalIn, poisson, rngFor, weighted } from "./prng";
import { RecordHeap, type SimProcess, type SimRecord } from "./record";

const minute = 60_000;
const cadenceOf = (source: string) => (sources.find((s) => s.id === source)?.feeds.bts?.cadence_s ?? 60) * 1000;

/**
 * Every carrier's BTS stations: all reported up at `t0`; then, minute by minute, outages
 * (down or degraded, back after minutes to hours), now and then a storm that takes a share of one
 * former district's stations down within ten minutes and brings them back over the next hour, and
 * at each carrier's cadence a few stations re-reported in rotation (a sign of life, and every
 * station's state re-sent about once a day). A station keeps its id; its readings name the area
 * of their own day (its district before 2025-07-01, its commune or ward from then on).
 */
export class BtsProcess implements SimProcess {
  readonly name = "bts";
  private readonly stations: (Station & { status: BtsStatus; lastMs: number })[];
  private readonly bySource = new Map<string, number[]>();
  private readonly byArea = new Map<string, number[]>();
  private readonly heap = new RecordHeap();
  private readonly rotation = new Map<string, number>();
  private readonly nextTick = new Map<string, number>();
  private readonly interval = new Map<string, number>();
  private nextMinute: number;
  private inventorySent = false;
  /** Storms so far (for the log). */
  storms = 0;

  constructor(
    private readonly seed: number,
    private readonly rate: number,
    private readonly t0: number,
  ) {
    this.stations = stationPlan().map((s) => ({ ...s, status: "up" as BtsStatus, lastMs: 0 }));
    this.stations.forEach((s, i) => {
      this.bySource.set(s.source, [...(this.bySource.get(s.source) ?? []), i]);
      // Storms strike a former district (the area the BTS-down alert groups by).
      const region = areaMap.versionsOf(s.area)[0]?.former_district ?? s.area;
      this.byArea.set(region, [...(this.byArea.get(region) ?? []), i]);
    });
    for (const c of carriers) {
      const iv = Math.max(1_000, Math.round(cadenceOf(c) / Math.max(1, rate)));
      this.interval.set(c, iv);
      this.nextTick.set(c, (Math.floor(t0 / iv) + 1) * iv);
      this.rotation.set(c, 0);
    }
    this.nextMinute = Math.floor(t0 / minute) * minute + minute;
  }

  take(untilMs: number): SimRecord[] {
    const out: SimRecord[] = [];
    if (!this.inventorySent && this.t0 < untilMs) {
      this.inventorySent = true;
      // As a real network is at any moment: a few stations already down or degraded (the steady
      // share of the outage process: rate × median duration), each back within the next hour or two.
      const b = simulation.bts;
      const rng = rngFor(this.seed, "bts-initial", this.t0);
      const pDown = Math.min(0.2, (b.outages_per_station_day * this.rate * b.outage_minutes.median) / 1440);
      this.stations.forEach((_, i) => {
        if (rng() >= pDown) return void out.push(this.reading(i, this.t0, "up"));
        out.push(this.reading(i, this.t0, rng() < b.degraded_share ? "degraded" : "down"));
        this.heap.push(this.readingLater(i, this.t0 + intIn(rng, 1, 2 * b.outage_minutes.median) * minute, "up"));
      });
    }
    // Generate whole minutes ahead of time; what they schedule waits in the heap.
    while (this.nextMinute < untilMs) {
      this.minute(this.nextMinute);
      this.nextMinute += minute;
    }
    for (const c of carriers) {
      const iv = this.interval.get(c)!;
      const ids = this.bySource.get(c)!;
      const n = Math.max(1, Math.ceil((ids.length * iv) / 86_400_000));
      for (let t = this.nextTick.get(c)!; t < untilMs; t += iv) {
        let k = this.rotation.get(c)!;
        for (let j = 0; j < n; j++, k = (k + 1) % ids.length) this.heap.push(this.readingLater(ids[k]!, t));
        this.rotation.set(c, k);
        this.nextTick.set(c, t + iv);
      }
    }
    const due: SimRecord[] = [];
    this.heap.popBefore(untilMs, due);
    for (const r of due) out.push(this.settle(r));
    return out;
  }

  private minute(t: number): void {
    const b = simulation.bts;
    const rng = rngFor(this.seed, "bts", t);
    const outages = poisson(rng, (this.stations.length * b.outages_per_station_day * this.rate) / 1440);
    for (let k = 0; k < outages; k++) {
      const i = Math.floor(rng() * this.stations.length);
      const at = t + Math.floor(rng() * minute);
      const status: BtsStatus = rng() < b.degraded_share ? "degraded" : "down";
      const mins = logNormalIn(rng, b.outage_minutes.median, b.outage_minutes.min, b.outage_minutes.max);
      this.heap.push(this.readingLater(i, at, status));
      this.heap.push(this.readingLater(i, at + Math.round(mins * minute), "up"));
    }
    if (rng() < (b.storms_per_day * this.rate) / 1440) {
      this.storms++;
      const weights: Record<string, number> = {};
      for (const [area, ids] of this.byArea) weights[area] = ids.length;
      const area = weighted(rng, weights);
      const share = b.storm_share.min + rng() * (b.storm_share.max - b.storm_share.min);
      for (const i of this.byArea.get(area)!) {
        if (rng() >= share) continue;
        const down = t + intIn(rng, 0, 10 * minute);
        this.heap.push(this.readingLater(i, down, "down"));
        this.heap.push(this.readingLater(i, down + intIn(rng, 10 * minute, 70 * minute), "up"));
      }
    }
  }

  /** A reading whose status is decided when it falls due: a re-report repeats the current one. */
  private readingLater(i: number, at: number, status?: BtsStatus): SimRecord {
    const s = this.stations[i]!;
    return {
      feed: "bts",
      source: s.source,
      id: String(i),
      revision: 0,
      tsMs: at,
      area: areaOn(s.district, s.area, localDayNumber(at)),
      data: { station: s.station, tech: s.tech, status: status ?? ("" as BtsStatus) },
    };
  }

  private settle(r: SimRecord): SimRecord {
    const i = Number(r.id);
    const s = this.stations[i]!;
    const data = r.data as { status: BtsStatus };
    const status = data.status || s.status;
    s.status = status;
    return this.reading(i, r.tsMs, status);
  }

  private reading(i: number, at: number, status: BtsStatus): SimRecord {
    const s = this.stations[i]!;
    // Readings of one station never share a millisecond: the id is the station and the time.
    const t = Math.max(at, s.lastMs + 1);
    s.lastMs = t;
    s.status = status;
    return {
      feed: "bts",
      source: s.source,
      id: `${s.station}@${t}`,
      revision: 0,
      tsMs: t,
      area: areaOn(s.district, s.area, localDayNumber(t)),
      data: { station: s.station, tech: s.tech, status },
    };
  }
}
