import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventMix } from "./support/event-mix";
import { spawnIngest, type IngestProcess } from "./support/ingest-process";
import { mixFigures } from "./support/mix-figures";

let h: Harness;
const procs: IngestProcess[] = [];

beforeAll(async () => {
  h = await ingestHarness("two", { start: false });
});
afterAll(async () => {
  for (const p of procs) await p.kill("SIGKILL");
  await h?.close();
});

it("shares the work between two ingest processes and ends with exact totals", async () => {
  const env = { DATABASE_URL: h.database.url, NATS_URL: h.config.natsUrl, PULSE_NAMESPACE: h.names.namespace!, INGEST_BATCH_SIZE: "100" };
  procs.push(await spawnIngest(env), await spawnIngest(env));
  const { events, expected } = eventMix(20_000, 5);
  // Published while both run, in chunks, so both have work to pull.
  for (let i = 0; i < events.length; i += 2_000) {
    await Promise.all(events.slice(i, i + 2_000).map((e) => h.publish(e.feed, e.source, e.env, { msgId: false })));
  }
  await h.settle(60_000);
  expect(await mixFigures(h.db)).toEqual({ ...expected, grainsAgree: true });
  expect(await h.count("dead_letters")).toBe(0);
  const [a, b] = [await procs[0]!.eventsTotal(), await procs[1]!.eventsTotal()];
  expect(a + b).toBe(events.length);
  expect(Math.min(a, b)).toBeGreaterThan(events.length * 0.1);
  // The LIVE stream got every change once, in change-id order.
  const { jetstreamManager } = await import("@pulse/nats");
  const jsm = await jetstreamManager(h.nc);
  const live = await jsm.streams.info(h.names.live);
  expect(live.state.messages).toBe(await h.count("changes"));
}, 120_000);
