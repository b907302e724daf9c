import { describe, expect, it } from "vitest";
import { decode, services } from "@pulse/contracts";
import { areaMap, dayNumber, provinceHouseholds, simulation } from "@pulse/seeds";
import { assumedHouseholds, communesOf, districtCodes, householdWeightsOn } from "./areas";
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
  it("splits the article's totals exactly over carriers, districts and then communes", () => {
    const plan = subscriberPlan();
    for (const s of services)
      expect(plan.filter((g) => g.service === s).reduce((n, g) => n + g.count, 0)).toBe(simulation.subscribers.totals[s]);
    // Every part stands in a commune or ward in force from 2025-07-01, in its district's former district.
    const firstCommuneDay = dayNumber("2025-07-01");
    const formerOf = (area: string) => areaMap.at(area, firstCommuneDay)!.former_district!;
    for (const g of plan) expect(communesOf(g.district).map((c) => c.code)).toContain(g.area);
    expect(new Set(plan.map((g) => g.area)).size).toBe(130);
    const key = (g: { source: string; district: string; area: string }) => `${g.source}/${g.district}/${g.area}`;
    const of = (service: string) => new Map(plan.filter((g) => g.service === service).map((g) => [key(g), g.count]));
    const mobile = of("mobile");
    const fixed = of("fixed_broadband");
    // Mobile broadband is a part of mobile, FTTH of fixed broadband, in every cell; FTTH never exceeds households.
    for (const [k, n] of of("mobile_broadband")) expect(n).toBeLessThanOrEqual(mobile.get(k)!);
    for (const [k, n] of of("ftth")) expect(n).toBeLessThanOrEqual(fixed.get(k)!);
    const formerDistricts = new Set(plan.map((g) => formerOf(g.area)));
    expect(formerDistricts.size).toBe(20);
    const householdsOf = (former: string) =>
      districtCodes.filter((d) => communesOf(d)[0]!.former_district === former).reduce((n, d) => n + assumedHouseholds(d), 0);
    for (const fd of formerDistricts) {
      const ftth = plan.filter((g) => g.service === "ftth" && formerOf(g.area) === fd).reduce((n, g) => n + g.count, 0);
      expect(ftth).toBeLessThan(householdsOf(fd));
    }
    // Cửa Lò's figures went to Vinh's wards: Vinh's former district holds both districts' shares.
    expect(householdsOf("412")).toBe(assumedHouseholds("412") + assumedHouseholds("413"));
    expect(plan.filter((g) => g.service === "ftth").reduce((n, g) => n + g.count, 0) / provinceHouseholds).toBeCloseTo(0.6809, 4);
    // Vinh is the largest former district.
    const mobileBy = (fd: string) => plan.filter((g) => g.service === "mobile" && formerOf(g.area) === fd).reduce((n, g) => n + g.count, 0);
    for (const fd of formerDistricts) if (fd !== "412") expect(mobileBy("412")).toBeGreaterThan(mobileBy(fd));
  });

  it("plans 8,176 stations with their ids, 106 Viettel 5G in Vinh's wards, each in a commune of its district", () => {
    const st = stationPlan();
    expect(st).toHaveLength(8176);
    expect(new Set(st.map((s) => s.station)).size).toBe(8176);
    // Ids as before the cut-over: they name the district of the calibration.
    for (const s of st) expect(s.station).toMatch(new RegExp(`^[A-Z]{3}-${s.district}-${s.tech}-\\d{4}$`));
    for (const s of st) expect(communesOf(s.district).map((c) => c.code)).toContain(s.area);
    expect(st.find((s) => s.station === "VTL-412-5G-0001")).toBeDefined();
    const fiveG = st.filter((s) => s.tech === "5G");
    expect(fiveG).toHaveLength(106);
    expect(fiveG.every((s) => s.source === "viettel" && s.district === "412")).toBe(true);
    // Spread over Vinh's six wards, evenly (round robin).
    const perWard = new Map<string, number>();
    for (const s of fiveG) perWard.set(s.area, (perWard.get(s.area) ?? 0) + 1);
    expect(perWard.size).toBe(6);
    expect(Math.max(...perWard.values()) - Math.min(...perWard.values())).toBeLessThanOrEqual(1);
    // Every commune and ward has stations.
    expect(new Set(st.map((s) => s.area)).size).toBe(130);
  });

  it("weighs areas by the map of the day, the same households on either side of the cut-over", () => {
    const before = householdWeightsOn(dayNumber("2025-06-30"));
    const after = householdWeightsOn(dayNumber("2025-07-01"));
    const early = householdWeightsOn(dayNumber("2024-12-31"));
    expect(Object.keys(before)).toHaveLength(20);
    expect(Object.keys(after)).toHaveLength(130);
    expect(Object.keys(early)).toHaveLength(21);
    const sum = (w: Record<string, number>) => Object.values(w).reduce((a, b) => a + b, 0);
    const assumed = districtCodes.reduce((n, d) => n + assumedHouseholds(d), 0);
    for (const w of [before, after, early]) expect(sum(w)).toBeCloseTo(assumed, 6);
    expect(before["412"]).toBeCloseTo(assumedHouseholds("412") + assumedHouseholds("413"), 6);
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

  it("names the communes and current agencies after 2025-06-30, the districts before, and every record decodes", async () => {
    const decodeAll = (got: OutMessage[]) =>
      got.flatMap((m) => {
        const ts = Date.parse((JSON.parse(m.body) as { ts: string }).ts);
        const r = decode({ subject: m.subject, payload: new TextEncoder().encode(m.body), receivedMs: ts + 1_000 });
        return r.ok ? [] : [`${r.reason}: ${r.detail}`];
      });
    // Monday 2025-06-30, the districts' last working afternoon, and Tuesday 2025-07-01, the communes' first.
    const before = await run(40, { durationS: 60, start: Date.parse("2025-06-30T14:00:00+07:00") });
    const after = await run(40, { durationS: 60, start: Date.parse("2025-07-01T14:00:00+07:00") });
    expect(decodeAll(before.got)).toEqual([]);
    expect(decodeAll(after.got)).toEqual([]);
    const leaves = (bodies: { area: string }[]) => new Set(bodies.filter((e) => e.area !== "40").map((e) => e.area));
    expect(leaves(before.bodies).size).toBe(20);
    expect([...leaves(before.bodies)].every((a) => areaMap.at(a, dayNumber("2025-06-30"))?.level === "district")).toBe(true);
    expect(leaves(after.bodies).size).toBe(130);
    expect([...leaves(after.bodies)].every((a) => areaMap.at(a, dayNumber("2025-07-01"))?.level === "commune")).toBe(true);
    const levels = (bodies: { data: { level?: string } }[]) => new Set(bodies.map((e) => e.data.level).filter(Boolean));
    expect(levels(before.bodies)).toEqual(new Set(["province", "district", "commune"]));
    expect(levels(after.bodies)).toEqual(new Set(["province", "commune"]));
    const agencies = new Set(after.bodies.map((e) => e.data.agency).filter(Boolean));
    for (const gone of ["ubnd-huyen", "so-tttt", "so-gtvt", "so-kh-dt"]) expect(agencies.has(gone)).toBe(false);
    expect(agencies.has("so-khcn")).toBe(true);
    // The province's totals at start are the article's on either map (exact: within 1 % asked).
    for (const { bodies, start } of [
      { bodies: before.bodies, start: "2025-06-30T14:00:00+07:00" },
      { bodies: after.bodies, start: "2025-07-01T14:00:00+07:00" },
    ]) {
      const atStart = bodies.filter((e) => e.data.service !== undefined && Date.parse(e.ts) === Date.parse(start));
      for (const s of services) {
        const sum = atStart.filter((e) => e.data.service === s).reduce((n, e) => n + e.data.count, 0);
        expect(Math.abs(sum / simulation.subscribers.totals[s]! - 1)).toBeLessThan(0.01);
        expect(sum).toBe(simulation.subscribers.totals[s]);
      }
    }
  });

  it("moves its stations to their communes at midnight, keeping their ids", async () => {
    const { bodies } = await run(41, { durationS: 900, start: Date.parse("2025-06-30T23:50:00+07:00") });
    const cut = Date.parse("2025-07-01T00:00:00+07:00");
    const bts = bodies.filter((e) => e?.data.station !== undefined);
    const seenBefore = new Map(bts.filter((e) => Date.parse(e.ts) < cut).map((e) => [e.data.station as string, e.area as string]));
    const after = bts.filter((e) => Date.parse(e.ts) >= cut);
    expect(after.length).toBeGreaterThan(10);
    let moved = 0;
    for (const e of after) {
      expect(areaMap.at(e.area, dayNumber("2025-07-01"))?.level).toBe("commune");
      const was = seenBefore.get(e.data.station);
      if (was === undefined) continue;
      moved++;
      expect(areaMap.at(e.area, dayNumber("2025-07-01"))!.former_district).toBe(was === "413" ? "412" : was);
    }
    expect(moved).toBeGreaterThan(0);
    // Subscriber gauges: districts at 23:50 and 23:55, communes from 00:00, each reading's sum the article's total at start.
    const subs = bodies.filter((e) => e?.data.service === "mobile");
    expect(new Set(subs.filter((e) => Date.parse(e.ts) < cut).map((e) => e.area)).size).toBe(20);
    expect(new Set(subs.filter((e) => Date.parse(e.ts) >= cut).map((e) => e.area)).size).toBe(130);
  });

  it("a silent source sends nothing in the live phase", async () => {
    const { bodies } = await run(40, { durationS: 600, faults: { silent: [{ source: "viettel", forMs: null }] } });
    const after = bodies.filter((e) => e.source === "viettel" && Date.parse(e.ts) > wednesday2pm);
    expect(after).toHaveLength(0);
    expect(bodies.filter((e) => e.source === "vinaphone" && Date.parse(e.ts) > wednesday2pm).length).toBeGreaterThan(0);
  });
});
