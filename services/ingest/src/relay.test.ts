import { createLogger } from "@pulse/config";
import { changeIdHeader } from "@pulse/contracts";
import { insertChanges, readRelayCursor } from "@pulse/db";
import { jetstreamManager } from "@pulse/nats";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createIngestMetrics } from "./ingest-metrics";
import { Relay } from "./relay";
import { ingestHarness, type Harness } from "./test-harness";

let h: Harness;
beforeAll(async () => {
  h = await ingestHarness("relay", { start: false }); // no ingest: the test drives its own relay
});
afterAll(async () => {
  await h?.close();
});

it("publishes in order and stops at the first refused row, moving the cursor only past acknowledged ones", async () => {
  // LIVE refuses a message over 1 KiB: the fourth row is refused, the fifth would be accepted.
  const jsm = await jetstreamManager(h.nc);
  const live = await jsm.streams.info(h.names.live);
  await jsm.streams.update(h.names.live, { ...live.config, max_msg_size: 1024 });
  const entry = (n: number) => [{ key: { day: "2026-11-26", source: "edoc", agency: `a${n}` }, value: n }];
  const ids = await insertChanges(h.db.db, [
    { metric: "esign_day", entries: entry(1) },
    { metric: "esign_day", entries: entry(2) },
    { metric: "esign_day", entries: entry(3) },
    { metric: "esign_day", entries: [{ key: { day: "2026-11-26", source: "edoc", agency: "x".repeat(2_000) }, value: 4 }] },
    { metric: "esign_day", entries: entry(5) },
  ]);

  const relay = new Relay({
    nc: h.nc,
    db: h.db,
    names: h.names,
    metrics: createIngestMetrics(),
    log: createLogger("relay", "silent"),
    pollMs: 50,
  });
  relay.start();
  try {
    for (const until = Date.now() + 5_000; relay.published < ids[2]! && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 500)); // a few retries of the refused row
  } finally {
    await relay.close();
  }

  expect(relay.published).toBe(ids[2]);
  expect(await readRelayCursor(h.db.db, "live")).toBe(ids[2]);
  const stored = [];
  const { state } = await jsm.streams.info(h.names.live);
  for (let seq = state.first_seq; seq <= state.last_seq; seq++)
    stored.push(Number((await jsm.streams.getMessage(h.names.live, { seq }))!.header.get(changeIdHeader)));
  // Nothing after the refused row reached LIVE: it will follow row 4 once that one goes through.
  expect(stored).toEqual(ids.slice(0, 3));
});

it("never republishes what another relay already published, however long it stalled", async () => {
  const jsm = await jetstreamManager(h.nc);
  const live = await jsm.streams.info(h.names.live);
  // Undo the first test's limit; a duplicate window of 100 ms stands for a stall of minutes.
  await jsm.streams.update(h.names.live, { ...live.config, max_msg_size: -1, duplicate_window: 100_000_000 });
  const ids = await insertChanges(
    h.db.db,
    [1, 2, 3].map((n) => ({ metric: "esign_day", entries: [{ key: { day: "2026-11-27", source: "edoc", agency: `b${n}` }, value: n }] })),
  );
  const log = createLogger("relay", "silent");
  const relay = new Relay({ nc: h.nc, db: h.db, names: h.names, metrics: createIngestMetrics(), log, pollMs: 50 });
  relay.start();
  for (const until = Date.now() + 5_000; relay.published < ids.at(-1)! && Date.now() < until;) await new Promise((r) => setTimeout(r, 20));
  await relay.close();
  expect(relay.published).toBe(ids.at(-1));

  // A relay that read the cursor before all this and stalled past LIVE's duplicate window runs
  // its next pass: it must publish nothing again.
  await new Promise((r) => setTimeout(r, 300));
  const before = (await jsm.streams.info(h.names.live)).state.messages;
  const metrics = createIngestMetrics();
  const stale = new Relay({ nc: h.nc, db: h.db, names: h.names, metrics, log });
  const internals = stale as unknown as { pass(): Promise<number>; maintain(): Promise<void> };
  await internals.pass(); // its local cursor is 0
  expect((await jsm.streams.info(h.names.live)).state.messages).toBe(before);
  // And it reports no lag for what the other relay published.
  await internals.maintain();
  expect(stale.published).toBe(ids.at(-1));
  expect((await metrics.relayLag.get()).values[0]?.value).toBe(0);
});

it("reports its lag on every pass, a backlog included", async () => {
  const ids = await insertChanges(
    h.db.db,
    Array.from({ length: 25 }, (_, n) => ({
      metric: "esign_day",
      entries: [{ key: { day: "2026-11-27", source: "edoc", agency: `c${n}` }, value: n }],
    })),
  );
  const metrics = createIngestMetrics();
  const relay = new Relay({ nc: h.nc, db: h.db, names: h.names, metrics, log: createLogger("relay", "silent"), chunk: 10 });
  const pass = () => (relay as unknown as { pass(): Promise<number> }).pass();
  const lag = async () => (await metrics.relayLag.get()).values[0]?.value;
  // Earlier tests published everything before these rows: the backlog is these 25.
  expect(await pass()).toBe(10);
  expect(relay.published).toBe(ids[9]);
  expect(await lag()).toBe(15);
  expect(await pass()).toBe(10);
  expect(await lag()).toBe(5);
  expect(await pass()).toBe(5);
  expect(await lag()).toBe(0);
  expect(await pass()).toBe(0);
  expect(relay.published).toBe(ids.at(-1));
});
