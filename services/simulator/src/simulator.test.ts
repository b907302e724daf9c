import { describe, expect, it } from "vitest";
import { services } from "@pulse/contracts";
import { districts, provinceHouseholds, simulation } from "@pulse/seeds";
import { apportion, stationPlan, subscriberPlan } from "./calibration";
import { virtualClock } from "./clock";
import { loadConfig } from "./config";
import { noFaults } from "./faults";
import type { OutMessage } from "./publisher";
import { startSimulator } from "./simulator";

// Wednesday 2026-12-02, 14:00 in Nghệ An: a working afternoon.
const wednesday2pm = Date.parse("2026-12-02T14:00:00+07:00");

async function run(seed: number, opts: { durationS?: number; faults?: Partial<typeof noFaults>; start?: number; rate?: number } = {}) {
  const got: OutMessage[] = [];
  const sim = await startSimulator(
    loadConfig(
      { LOG_LEVEL: "silent" },
      { seed, durationS: opts.durationS ?? 600, rate: opts.rate ?? 1, tickMs: 1_000, faults: { ...noFaults, ...opts.faults } },
    ),
    { sink: (m) => void got.push(m), clock: virtualClock(opts.start ?? wednesday2pm) },
  );
  const stats = await sim.done;
  return { got, stats, bodies: got.map((m) => JSON.parse(m.body.startsWith("{") && m.body.endsWith("}") ? m.body : "null")) };
}

describe("calibration", () => {
  it("splits the article's totals exactly over carriers and districts", () => {
    const plan = subscriberPlan();
    for (const s of services)
      expect(plan.filter((g) => g.service === s).reduce((n, g) => n + g.count, 0)).toBe(simulation.subscribers.totals[s]);
    const key = (g: { source: string; area: string }) => `${g.source}/${g.area}`;
    const of = (service: string) => new Map(plan.filter((g) => g.service === service).map((g) => [key(g), g.count]));
    const mobile = of("mobile");
    const fixed = of("fixed_broadband");
    // Mobile broadband is a part of mobile, FTTH of fixed broadband, in every cell; FTTH never exceeds households.
    for (const [k, n] of of("mobile_broadband")) expect(n).toBeLessThanOrEqual(mobile.get(k)!);
    for (const [k, n] of of("ftth")) expect(n).toBeLessThanOrEqual(fixed.get(k)!);
    for (const d of districts) {
      const ftth = plan.filter((g) => g.service === "ftth" && g.area === d.code).reduce((n, g) => n + g.count, 0);
      expect(ftth).toBeLessThan(d.households!);
    }
    expect(plan.filter((g) => g.service === "ftth").reduce((n, g) => n + g.count, 0) / provinceHouseholds).toBeCloseTo(0.6809, 4);
    // Vinh is the largest district.
    const mobileBy = (a: string) => plan.filter((g) => g.service === "mobile" && g.area === a).reduce((n, g) => n + g.count, 0);
    for (const d of districts) if (d.code !== "412") expect(mobileBy("412")).toBeGreaterThan(mobileBy(d.code));
  });

  it("plans 8,176 stations with 106 Viettel 5G in Vinh and unique ids", () => {
    const st = stationPlan();
    expect(st).toHaveLength(8176);
    expect(new Set(st.map((s) => s.station)).size).toBe(8176);
    const fiveG = st.filter((s) => s.tech === "5G");
    expect(fiveG).toHaveLength(106);
    expect(fiveG.every((s) => s.source === "viettel" && s.area === "412")).toBe(true);
  });

  it("apportions with largest remainders", () => {
    expect(apportion(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(apportion(7, [0, 2, 5])).toEqual([0, 2, 5]);
    expect(apportion(5, [0, 0])).toEqual([0, 0]);
  });
});

describe("simulator (virtual clock, no NATS)", () => {
  it("gives the same events for the same seed and other events for another", async () => {
    const faults = { duplicates: 0.02, reorder: 0.02, late: 0.02, restate: 0.02, malformed: 0.01 };
    const a = await run(7, { faults });
    const b = await run(7, { faults });
    const c = await run(8, { faults });
    expect(a.got.length).toBeGreaterThan(10_000);
    expect(b.got).toEqual(a.got);
    expect(c.got).not.toEqual(a.got);
    expect(b.stats.injected).toEqual(a.stats.injected);
  });

  it("sends the inventory at the article's totals and backfills the working day so far", async () => {
    const { got, bodies, stats } = await run(40, { durationS: 60 });
    const atStart = bodies.filter((e) => e && Date.parse(e.ts) === wednesday2pm);
    for (const s of services) {
      const sum = atStart.filter((e) => e.data.service === s).reduce((n, e) => n + e.data.count, 0);
      expect(sum).toBe(simulation.subscribers.totals[s]);
    }
    expect(atStart.filter((e) => e.data.station).length).toBe(8176);
    // A few already down or degraded, as a real network is at any moment (about 0.5 %).
    const notUp = atStart.filter((e) => e.data.station && e.data.status !== "up").length;
    expect(notUp).toBeGreaterThan(8);
    expect(notUp).toBeLessThan(160);
    // Every message carries Nats-Msg-Id <source>:<id>:<revision>.
    for (const [i, m] of got.entries()) expect(m.msgId).toBe(`${bodies[i].source}:${bodies[i].id}:${bodies[i].revision}`);
    // Documents and dossiers from 07:30 to 14:00 (and a trickle before): about 6.5 of 9.5 office hours.
    const esign = bodies.filter((e) => e?.data.doc !== undefined);
    const signed = esign.filter((e) => e.data.signed).length / esign.length;
    expect(esign.length).toBeGreaterThan(4_000);
    expect(esign.length).toBeLessThan(8_000);
    expect(signed).toBeGreaterThan(0.945);
    expect(signed).toBeLessThan(0.97);
    const egov = bodies.filter((e) => e?.data.procedure !== undefined);
    const received = egov.filter((e) => e.data.status === "received");
    expect(received.length).toBeGreaterThan(2_000);
    // Received steps only in office hours (local 07:30–17:00).
    for (const e of received) {
      const hm = e.ts.slice(11, 16);
      expect(hm >= "07:30" && hm < "17:00").toBe(true);
    }
    expect(stats.backfilled).toBeGreaterThan(6_000);
    // Ids unique per source.
    const ids = new Set(bodies.map((e) => `${e.source}:${e.id}:${e.revision}`));
    expect(ids.size).toBe(bodies.length);
  });

  it("is quiet on a Sunday: no dossiers, a trickle of documents", async () => {
    const { bodies } = await run(40, { durationS: 60, start: Date.parse("2026-12-06T14:00:00+07:00") });
    expect(bodies.filter((e) => e.data.procedure !== undefined)).toHaveLength(0);
    const docs = bodies.filter((e) => e.data.doc !== undefined).length;
    expect(docs).toBeGreaterThan(50);
    expect(docs).toBeLessThan(600);
  });

  it("a silent source sends nothing in the live phase", async () => {
    const { bodies } = await run(40, { durationS: 600, faults: { silent: [{ source: "viettel", forMs: null }] } });
    const after = bodies.filter((e) => e.source === "viettel" && Date.parse(e.ts) > wednesday2pm);
    expect(after).toHaveLength(0);
    expect(bodies.filter((e) => e.source === "vinaphone" && Date.parse(e.ts) > wednesday2pm).length).toBeGreaterThan(0);
  });
});
