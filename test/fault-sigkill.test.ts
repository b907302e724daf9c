import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventMix } from "./support/event-mix";
import { spawnIngest, type IngestProcess } from "./support/ingest-process";
import { mixFigures } from "./support/mix-figures";

let h: Harness;
const procs: IngestProcess[] = [];

beforeAll(async () => {
  h = await ingestHarness("sigkill", { start: false });
});
afterAll(async () => {
  for (const p of procs) await p.kill("SIGKILL");
  await h?.close();
});

const env = () => ({
  DATABASE_URL: h.database.url,
  NATS_URL: h.config.natsUrl,
  PULSE_NAMESPACE: h.names.namespace!,
  INGEST_BATCH_SIZE: "200",
});

it("ends with exact totals after ingest is killed with SIGKILL mid-batch and restarted", async () => {
  const { events, expected } = eventMix(30_000, 11);
  for (let i = 0; i < events.length; i += 2_000) {
    await Promise.all(events.slice(i, i + 2_000).map((e) => h.publish(e.feed, e.source, e.env, { msgId: false })));
  }

  const first = await spawnIngest(env());
  procs.push(first);
  // Kill it while it is busy: some batches committed, others in flight.
  const until = Date.now() + 30_000;
  while ((await h.count("events")) < 3_000 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  await first.kill("SIGKILL");
  const committedAtKill = await h.count("events");
  expect(committedAtKill).toBeGreaterThan(0);
  expect(committedAtKill).toBeLessThan(events.length * 0.9);

  const second = await spawnIngest(env());
  procs.push(second);
  await h.settle(60_000);
  expect({ ...(await mixFigures(h.db)) }).toEqual({ ...expected, grainsAgree: true });
  expect(await h.count("dead_letters")).toBe(0);
  await second.kill("SIGTERM");
  expect(second.output()).toContain("ingest stopped");
}, 120_000);
