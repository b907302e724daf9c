/**
 * A producer flooding one feed, run as its own process (`tsx test/support/flood-publisher.ts`)
 * so that its work never delays the test's own timing. Publishes to FLOOD_SUBJECT as source
 * FLOOD_SOURCE for FLOOD_MS: at full rate (FLOOD_WINDOW publishes in flight) or at FLOOD_RATE
 * messages per second; FLOOD_BAD=1 makes every other message malformed, one kind after another.
 * Prints one JSON line at the end: { good, bad: { reason: n }, seconds }.
 */
import { msgId, type Feed } from "@pulse/contracts";
import { connectNats, headers, jetstream } from "@pulse/nats";

const env = process.env;
const subject = env.FLOOD_SUBJECT!;
const feed = env.FLOOD_FEED as Feed;
const source = env.FLOOD_SOURCE!;
const durationMs = Number(env.FLOOD_MS ?? 10_000);
const window = Number(env.FLOOD_WINDOW ?? 1_000);
const rate = env.FLOOD_RATE ? Number(env.FLOOD_RATE) : null;
const withBad = env.FLOOD_BAD === "1";
const tag = env.FLOOD_TAG ?? "flood";

const enc = new TextEncoder();
const day = 86_400_000;

function goodRecord(i: number): Record<string, unknown> {
  const base = {
    v: 1,
    id: `${tag}-good-${i}`,
    source,
    ts: new Date(Date.now() - 1_000).toISOString(),
    area: ["16681", "16732", "17506"][i % 3],
  };
  switch (feed) {
    case "subscribers":
      return { ...base, data: { service: "mobile", count: i } };
    case "bts":
      return { ...base, data: { station: `${tag}-${i % 2_000}`, tech: "4G", status: i % 3 ? "up" : "down" } };
    case "esign":
      return { ...base, data: { agency: "so-khcn", doc: `d${i}`, signed: i % 20 !== 0, signer: "organization" } };
    case "egov":
      return {
        ...base,
        data: {
          procedure: "p1",
          agency: "ubnd-xa",
          level: "commune",
          channel: "online_full",
          status: i % 4 ? "received" : "resolved_on_time",
        },
      };
  }
}

/** The bad half, one kind after another, each with the reason it must get. */
function badMessage(i: number): { body: Uint8Array; reason: string } {
  const ok = { ...goodRecord(i), id: `${tag}-bad-${i}` };
  switch (i % 7) {
    case 0:
      return { body: enc.encode(`{"v":1,"id":"${tag}-bad-${i}",`), reason: "bad_json" };
    case 1:
      return { body: enc.encode(JSON.stringify({ ...ok, v: 2 })), reason: "bad_shape" };
    case 2:
      return { body: enc.encode(JSON.stringify({ ...ok, ts: "2026-11-26 09:15:00" })), reason: "bad_time" };
    case 3:
      return { body: enc.encode(JSON.stringify({ ...ok, ts: new Date(Date.now() + day).toISOString() })), reason: "future_time" };
    case 4:
      return { body: enc.encode(JSON.stringify({ ...ok, area: "999" })), reason: "unknown_area" };
    case 5:
      return {
        body: enc.encode(JSON.stringify({ ...ok, source: source === "mobifone" ? "viettel" : "mobifone" })),
        reason: "source_mismatch",
      };
    default:
      // Now and then a payload past the size limit (the worst case for the dead-letter table).
      return i % 700 === 699
        ? { body: enc.encode(JSON.stringify({ ...ok, id: "x".repeat(70_000) })), reason: "too_large" }
        : { body: enc.encode(JSON.stringify({ ...ok, extra: true })), reason: "bad_shape" };
  }
}

const nc = await connectNats(env.NATS_URL ?? "nats://127.0.0.1:4222", `flood-${tag}`);
const js = jetstream(nc);
const bad: Record<string, number> = {};
let good = 0;
let i = 0;
const started = performance.now();
const end = started + durationMs;

async function one(): Promise<void> {
  while (performance.now() < end) {
    const n = i++;
    if (rate !== null) {
      const wait = started + (n * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (performance.now() >= end) return;
    }
    if (!withBad || n % 2 === 0) {
      const rec = goodRecord(n);
      const h = headers();
      h.set("Nats-Msg-Id", msgId(source, rec.id as string, 0));
      await js.publish(subject, JSON.stringify(rec), { headers: h });
      good++;
    } else {
      const m = badMessage(n);
      await js.publish(subject, m.body);
      bad[m.reason] = (bad[m.reason] ?? 0) + 1;
    }
  }
}

await Promise.all(Array.from({ length: rate === null ? window : Math.max(1, Math.min(window, Math.ceil(rate / 20))) }, one));
const seconds = (performance.now() - started) / 1000;
await nc.drain();
process.stdout.write(`${JSON.stringify({ good, bad, seconds })}\n`);
