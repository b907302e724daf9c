import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { startNatsServer, type NatsServer } from "@pulse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventMix } from "./support/event-mix";
import { mixFigures } from "./support/mix-figures";

let nats: NatsServer;
let h: Harness;

beforeAll(async () => {
  // A private broker: this test takes it down, never the machine's own.
  nats = await startNatsServer();
  h = await ingestHarness("natsrestart", { natsUrl: nats.url, config: { ackWaitMs: 5_000 } });
});
afterAll(async () => {
  await h?.close().catch(() => {});
  await nats?.stop();
});

it("rides out a broker restart and ends with exact totals", async () => {
  const { events, expected } = eventMix(6_000, 3);
  const publish = async (from: number, to: number) => {
    for (let i = from; i < to; i += 500) {
      await Promise.all(events.slice(i, Math.min(to, i + 500)).map((e) => h.publish(e.feed, e.source, e.env, { msgId: false })));
    }
  };
  await publish(0, 3_000);
  // Down while ingest is busy with what it holds; up again on the same port and store.
  await new Promise((r) => setTimeout(r, 100));
  await nats.down();
  await new Promise((r) => setTimeout(r, 2_000));
  await nats.up();
  // The clients reconnect by themselves (ingest's and the test's own).
  for (const until = Date.now() + 20_000; h.nc.isClosed() === false && Date.now() < until;) {
    try {
      await h.nc.flush();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  await publish(3_000, events.length);
  await h.settle(60_000);
  expect(await mixFigures(h.db)).toEqual({ ...expected, grainsAgree: true });
  expect(await h.count("dead_letters")).toBe(0);
  expect(h.ingest!.health().ok).toBe(true);
}, 120_000);
