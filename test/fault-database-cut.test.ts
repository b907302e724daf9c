import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { proxiedUrl, startTcpProxy, urlTarget, type TcpProxy } from "@pulse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventMix } from "./support/event-mix";
import { mixFigures } from "./support/mix-figures";

let h: Harness;
let proxy: TcpProxy | null = null;

beforeAll(async () => {
  // Ingest reaches Postgres through a proxy the test can cut; the test reads Postgres directly.
  h = await ingestHarness("dbcut", {
    start: false,
    config: { ackWaitMs: 3_000, maxDeliver: 3, probeMs: 250 },
  });
  proxy = await startTcpProxy(urlTarget(h.database.url));
  await h.startIngest({ databaseUrl: proxiedUrl(h.database.url, proxy) });
});
afterAll(async () => {
  await h?.close();
  await proxy?.close();
});

it("holds messages through a database outage and ends with exact totals, nothing dead-lettered", async () => {
  const { events, expected } = eventMix(4_000, 7);
  const healthDuringCut: unknown[] = [];
  let i = 0;
  const publishSome = async (n: number) => {
    for (const end = Math.min(events.length, i + n); i < end; i++)
      await h.publish(events[i]!.feed, events[i]!.source, events[i]!.env, { msgId: false });
  };
  await publishSome(1_000);
  await h.settle();

  // Cut for 6 s (twice the ack wait: held messages must be kept alive, not redelivered) while
  // events keep coming.
  proxy!.cut();
  const cutAt = Date.now();
  while (Date.now() - cutAt < 6_000) {
    await publishSome(150);
    await new Promise((r) => setTimeout(r, 200));
    healthDuringCut.push(h.ingest!.health());
  }
  const dbUpDuringCut = (await h.ingest!.metrics.dbUp.get()).values[0]!.value;
  proxy!.restore();
  await publishSome(events.length);
  await h.settle(30_000);

  expect(healthDuringCut.some((x) => (x as { ok: boolean }).ok === false)).toBe(true);
  expect(healthDuringCut.at(-1)).toMatchObject({ ok: false, database: expect.stringMatching(/unreachable/) });
  expect(dbUpDuringCut).toBe(0);
  expect(h.ingest!.health().ok).toBe(true);

  const f = await mixFigures(h.db);
  expect(f).toEqual({ ...expected, grainsAgree: true });
  expect(await h.count("dead_letters")).toBe(0);
  // No delivery attempt was burned: nothing had to be redelivered.
  const red = await h.ingest!.metrics.redeliveries.get();
  expect(red.values.reduce((n, v) => n + v.value, 0)).toBe(0);
  const errs = await h.ingest!.metrics.dbErrors.get();
  expect(errs.values.find((v) => v.labels.kind === "unreachable")?.value ?? 0).toBeGreaterThan(0);
}, 90_000);
