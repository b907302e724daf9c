/**
 * Regression (found by test/live-property.test.ts): a heartbeat's `seq` promises that everything
 * up to it that concerns the client has been sent, and a client may resume from it
 * (docs/live-protocol.md). While a resume is being answered (the gateway reads the LIVE stream
 * for a `since` older than its ring), the socket has no subscription yet, and its heartbeats
 * carried the gateway's latest seq: a client that took it and lost the socket before `resumed`
 * arrived would resume from there and silently miss every change in between.
 */
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig, startLive, type Live } from "@pulse/live";
import { WebSocket } from "ws";
import { afterAll, beforeAll, expect, it } from "vitest";

let h: Harness;
let live: Live;

beforeAll(async () => {
  // One event per transaction: many LIVE messages for the resume to read from the stream.
  h = await ingestHarness("live_hb_resume", { config: { batchSize: 1, lingerMs: 0 } });
  live = await startLive(
    loadConfig(
      {
        DATABASE_URL: h.database.url,
        NATS_URL: h.config.natsUrl,
        LIVE_PORT: "0",
        LIVE_ADMIN_PORT: "0",
        LIVE_HOST: "127.0.0.1",
        LIVE_HEARTBEAT_MS: "100",
        LIVE_RING: "5",
        LOG_LEVEL: "silent",
      },
      { names: h.names },
    ),
  );
});
afterAll(async () => {
  await live?.close();
  await h?.close();
});

type Frame = { type: string; seq?: number; id?: string };

/** Opens a socket, subscribes (with `since` when given) and collects frames until `done(frames)`. */
async function session(since: number | null, done: (frames: Frame[]) => boolean, timeoutMs = 10_000): Promise<Frame[]> {
  const ws = new WebSocket(`ws://127.0.0.1:${live.port}/live`);
  const frames: Frame[] = [];
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const finished = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms: ${JSON.stringify(frames.slice(-3))}`)), timeoutMs);
    ws.on("message", (d) => {
      frames.push(JSON.parse(d.toString()) as Frame);
      if (done(frames)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  ws.send(JSON.stringify({ op: "subscribe", id: "s", topics: ["subscribers", "feed"], ...(since === null ? {} : { since }) }));
  await finished;
  ws.close();
  return frames;
}

// Regression: a heartbeat sent while a resume was being answered (or before the socket's first
// subscription arrived) named a seq past `since`; a client that kept it and lost the socket
// before `resumed` skipped the changes in between. A socket's heartbeat seq is now 0 until a
// subscription is answered, and frozen while one is being answered.
it("never sends a heartbeat seq past `since` before the resume is answered", async () => {
  const first = await session(null, (f) => f.some((x) => x.type === "snapshot"));
  const since = first.find((x) => x.type === "snapshot")!.seq!;
  const now = Date.now();
  for (let i = 0; i < 1_500; i++) {
    const ts = new Date(now - 60_000 + i).toISOString();
    await h.publish("subscribers", "viettel", make.subscribers(`hb-${i}`, "mobile", i, { ts }), { msgId: false });
  }
  await h.settle(60_000);

  // Each resume reads some thousands of messages from LIVE; heartbeats every 100 ms land in
  // that window now and then: try a number of times.
  let ahead = 0;
  let tries = 0;
  for (; tries < 20; tries++) {
    const frames = await session(since, (f) => f.some((x) => x.type === "resumed" || (x.type === "snapshot" && x.id === "s")));
    const answer = frames.findIndex((x) => x.type === "resumed" || x.type === "snapshot");
    if (frames.slice(0, answer).some((x) => x.type === "heartbeat" && (x.seq ?? 0) > since)) ahead++;
  }
  expect(ahead, `${ahead} of ${tries} resumes got a heartbeat seq past since before their answer`).toBe(0);
}, 120_000);
