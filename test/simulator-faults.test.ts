import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig, malformedKinds, noFaults, startSimulator, virtualClock, type SimulatorStats } from "@pulse/simulator";
import { createLogger } from "@pulse/config";
import { calendarInstant } from "@pulse/testkit";

// The simulator's faults, counted by the real ingest (real NATS at 127.0.0.1:4222, fresh stream
// names, a fresh database) exactly as they were injected. The simulator runs on a virtual clock
// at the most recent working-day 10:00 (UTC+7), whatever day and hour the suite runs: the
// e-document and dossier records it may hold back as late come in office hours (the backfill
// from midnight holds hundreds), so the faults are fixed by the seed and that clock; on the real
// clock on a Sunday there were next to none.
const outcomes = async (port: number) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const by = (metric: string, label: string) => {
    const m = new Map<string, number>();
    for (const l of text.split("\n")) {
      if (!l.startsWith(`${metric}{`)) continue;
      const v = new RegExp(`${label}="([^"]+)"`).exec(l)?.[1];
      if (v) m.set(v, (m.get(v) ?? 0) + Number(l.split(" ").pop()));
    }
    return m;
  };
  return { outcome: by("pulse_ingest_events_total", "outcome"), reason: by("pulse_ingest_dead_letters_total", "reason") };
};

describe("simulator faults through real ingest", () => {
  let h: Harness;
  let stats: SimulatorStats;
  let seconds = 0;

  beforeAll(async () => {
    h = await ingestHarness("sim_faults");
    const t0 = Date.now();
    // Virtual time (so every tick's instant, and with the seed every fault, is fixed), slept for
    // real: the run lasts its 3 s, and the refusals ingest sends back arrive while it listens.
    const virtual = virtualClock(calendarInstant("weekday"));
    const clock = {
      now: () => virtual.now(),
      sleep: async (ms: number) => {
        await virtual.sleep(ms);
        await new Promise((r) => setTimeout(r, ms));
      },
    };
    const sim = await startSimulator(
      loadConfig(
        { NATS_URL: h.config.natsUrl },
        {
          names: h.names,
          seed: 11,
          rate: 0.2,
          durationS: 3,
          tickMs: 100,
          faults: { ...noFaults, duplicates: 0.03, restate: 0.03, malformed: 0.01, reorder: 0.03, late: 0.05, flood: 2_000 },
        },
      ),
      { nc: h.nc, clock, log: createLogger("simulator", "error") },
    );
    stats = await sim.done;
    seconds = (Date.now() - t0) / 1000;
    await h.settle(60_000);
    // Rejects come back after the commit of their batch: wait for all of them.
    const malformed = Object.values(stats.injected.malformed).reduce((a, b) => a + b, 0);
    for (let i = 0; i < 100 && Object.values(stats.publish.rejects).reduce((a, b) => a + b, 0) < malformed; i++)
      await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(async () => {
    await h?.close();
  });

  it("injected every kind of fault", () => {
    const i = stats.injected;
    expect(i.duplicatesNoMsgId).toBeGreaterThan(10);
    expect(i.duplicatesSameMsgId).toBeGreaterThan(10);
    expect(i.restatements).toBeGreaterThan(10);
    expect(i.reordered).toBeGreaterThan(10);
    expect(i.late).toBeGreaterThan(5);
    expect(i.flood).toBe(2_000);
    for (const k of malformedKinds) expect(i.malformed[k] ?? 0).toBeGreaterThan(3);
    // Publishing as a producer: nothing lost, no new record taken for a duplicate.
    expect(stats.publish.failed).toBe(0);
    expect(stats.publish.unexpectedDuplicates).toBe(0);
    console.log(
      `simulator: ${stats.messages} messages in ${seconds.toFixed(1)} s (${Math.round(stats.messages / seconds)}/s), injected`,
      JSON.stringify(i),
    );
  });

  it("ingest counts duplicates, restatements and dead letters exactly as injected", async () => {
    const i = stats.injected;
    const { outcome, reason } = await outcomes(h.ingest!.port);
    const records = Object.values(stats.records).reduce((a, b) => a + b, 0);
    expect(outcome.get("inserted")).toBe(records + i.flood);
    expect(outcome.get("duplicate") ?? 0).toBe(i.duplicatesNoMsgId);
    expect(outcome.get("restated") ?? 0).toBe(i.restatements);
    // The same-Msg-Id duplicates never reach ingest: the broker acknowledged them as duplicates.
    expect(stats.publish.brokerDuplicates).toBe(i.duplicatesSameMsgId);
    for (const k of malformedKinds) expect(reason.get(k) ?? 0, k).toBe(i.malformed[k]);
    expect([...reason.keys()].sort()).toEqual(Object.keys(i.malformed).sort());
    const stored = await h.figures();
    expect(Object.fromEntries(stored.deadLetters.map((r) => [r.reason, r.n]))).toEqual(i.malformed);
    // And the simulator heard each refusal on rejects.<source>, with its reason.
    expect(stats.publish.rejects).toEqual(i.malformed);
  });

  it("the figures hold the article's totals", async () => {
    const stored = await h.figures();
    const total = (service: string) => stored.subscribers.filter((r) => r.service === service).reduce((n, r) => n + Number(r.count), 0);
    // Restatements move a count by at most ±10 and drift is tiny in 3 s: within 0.1 %.
    expect(Math.abs(total("mobile") / 3_128_167 - 1)).toBeLessThan(0.001);
    expect(Math.abs(total("ftth") / 572_594 - 1)).toBeLessThan(0.001);
    expect(stored.stations).toHaveLength(8_176);
  });
});
