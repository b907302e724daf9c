/**
 * Regression (found by `pnpm bench:soak`: commit → client p99 of 6–7 s with nothing behind): the
 * gateway followed LIVE with nats.js `consume({ max_bytes })`. In bytes mode nats.js still asks
 * for 100 messages a request and refills by the bytes consumed, so after many small messages a
 * request asks for fewer bytes than the next, larger one: nats-server answers 409 "Message Size
 * Exceeds MaxBytes", and nats.js, its buffer empty, waits for two missed heartbeats (5 s) before
 * asking again. LIVE's messages vary from one entry to hundreds (a relay row per transaction).
 * The gateway's state must follow the stream within a tick or two, all the time.
 */
import { changeIdHeader, type LiveChange } from "@pulse/contracts";
import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig, startLive, type Live } from "@pulse/live";
import { headers, withPrefix } from "@pulse/nats";
import { areaMap, localDayNumber } from "@pulse/seeds";
import { afterAll, beforeAll, expect, it } from "vitest";

let h: Harness;
let live: Live;
/** 21 units in force today (communes since 2025-07-01). */
const units = areaMap
  .leavesOn(localDayNumber(Date.now()))
  .slice(0, 21)
  .map((a) => a.code);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  h = await ingestHarness("live_follow", { start: false });
  live = await startLive(
    loadConfig(
      { DATABASE_URL: h.database.url, NATS_URL: h.config.natsUrl, LIVE_PORT: "0", LIVE_ADMIN_PORT: "0", LOG_LEVEL: "silent" },
      { names: h.names },
    ),
  );
});
afterAll(async () => {
  await live?.close();
  await h?.close();
});

it("follows LIVE without stalls: every message applied within a second of its publish", async () => {
  // 2,000 messages, 20 every 80 ms, of 1 to 20 entries and one in twenty of 200 to 600: a request
  // sized by the bytes of small ones is too small for the next large one.
  const published = new Map<number, number>();
  const lags: number[] = [];
  let watching = true;
  const watcher = (async () => {
    let next = 1;
    while (watching || next <= published.size) {
      const seq = live.seq();
      for (; next <= seq && published.has(next); next++) lags.push(Date.now() - published.get(next)!);
      if (!watching && seq < next) break;
      await sleep(5);
    }
  })();
  let x = 3;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 1; i <= 2_000; i++) {
    const n = rnd() < 0.05 ? 200 + Math.floor(rnd() * 400) : 1 + Math.floor(rnd() * 20);
    const change: LiveChange = {
      change_id: 1_000 + i,
      metric: "subscribers",
      at: new Date().toISOString(),
      entries: Array.from({ length: n }, (_, k) => ({
        key: { source: "viettel", service: "mobile", area: units[k % units.length]!, n: String(k) },
        value: i * 1_000 + k,
      })),
    };
    const hd = headers();
    hd.set(changeIdHeader, String(change.change_id));
    const ack = await h.js.publish(withPrefix(h.names, "live.subscribers"), JSON.stringify(change), {
      msgID: String(change.change_id),
      headers: hd,
    });
    published.set(ack.seq, Date.now());
    if (i % 20 === 0) await sleep(80);
  }
  for (let until = Date.now() + 10_000; live.seq() < 2_000 && Date.now() < until;) await sleep(20);
  watching = false;
  await watcher;
  expect(live.seq()).toBe(2_000);
  expect(lags.length).toBe(2_000);
  lags.sort((a, b) => a - b);
  // A stall was two missed heartbeats: 5 s and more.
  expect(lags.at(-1)!).toBeLessThan(1_000);
}, 60_000);
