/**
 * One feed flooded at ten times its usual rate (e-gov: 250 -> 2,500 messages/s, from its own
 * publisher process): the other feeds' publish-to-commit latency does not move, because each
 * feed has its own durable consumer and its own chain of transactions. Measured in the same test
 * at the usual rate and then under the flood, with the same processes running in both phases.
 * Ingest runs as its own process, as in production.
 */
import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { afterAll, beforeAll, expect, it } from "vitest";
import { spawnIngest, type IngestProcess } from "./support/ingest-process";
import { figures, fmt, probeLatency, type ProbeTarget } from "./support/latency-probe";
import { runFlood } from "./support/run-flood";

let h: Harness;
let ingest: IngestProcess | undefined;

beforeAll(async () => {
  h = await ingestHarness("flood_feed", { start: false });
});
afterAll(async () => {
  await ingest?.kill("SIGKILL");
  await h?.close();
});

const others: ProbeTarget[] = [
  { feed: "subscribers", source: "viettel" },
  { feed: "subscribers", source: "vinaphone" },
  { feed: "bts", source: "mobifone" },
  { feed: "esign", source: "edoc" },
];
const floodedProbe: ProbeTarget = { feed: "egov", source: "dvc" };
const usualRate = 250;

/** The e-gov feed at `rate` from its own process while every feed is probed; returns the probes' latencies. */
async function phase(label: string, rate: number) {
  const flood = runFlood({
    natsUrl: h.config.natsUrl,
    subject: h.subject("egov", "dvc"),
    feed: "egov",
    source: "dvc",
    durationMs: 5_500,
    rate,
    tag: label,
  });
  // Probes start once the publisher is up to speed, and end before it does.
  await new Promise((r) => setTimeout(r, 2_000));
  const lat = await probeLatency(h, h.db, [...others, floodedProbe], { label, everyMs: 100, durationMs: 3_000, settleMs: 60_000 });
  const sent = await flood.done;
  const t = Date.now();
  await h.settle(60_000);
  return { lat, sent, settleMs: Date.now() - t };
}

/** Two phases' figures pooled: latencies per target, messages and seconds of the publisher. */
function pool(a: Awaited<ReturnType<typeof phase>>, b: Awaited<ReturnType<typeof phase>>) {
  const lat = new Map([...a.lat].map(([k, v]) => [k, [...v, ...b.lat.get(k)!]]));
  return {
    lat,
    sent: { good: a.sent.good + b.sent.good, seconds: a.sent.seconds + b.sent.seconds },
    settleMs: Math.max(a.settleMs, b.settleMs),
  };
}

it("keeps the other feeds' latency where it was while one feed runs at ten times its rate", async () => {
  ingest = await spawnIngest({ DATABASE_URL: h.database.url, NATS_URL: h.config.natsUrl, PULSE_NAMESPACE: h.names.namespace! });
  await probeLatency(h, h.db, others, { label: "warm", everyMs: 100, durationMs: 1_500 });

  // Usual, flood, usual, flood: the machine's own drift (other tests share its two cores) falls
  // on both sides alike.
  const u1 = await phase("usual1", usualRate);
  const f1 = await phase("flood1", usualRate * 10);
  const u2 = await phase("usual2", usualRate);
  const f2 = await phase("flood2", usualRate * 10);
  const usual = pool(u1, u2);
  const flooded = pool(f1, f2);

  for (const [label, p] of Object.entries({ usual1: u1, flood1: f1, usual2: u2, flood2: f2 }))
    expect(await h.count("events", `source = 'dvc' AND id LIKE '${label}-good-%'`), label).toBe(p.sent.good);
  expect(await h.count("dead_letters")).toBe(0);
  // The flood really ran at about ten times the usual rate.
  const rateOf = (s: { good: number; seconds: number }) => s.good / s.seconds;
  expect(rateOf(flooded.sent)).toBeGreaterThan(6 * rateOf(usual.sent));

  const rows = [...others, floodedProbe].map((p) => {
    const k = `${p.source}/${p.feed}`;
    return { k, q: figures(usual.lat.get(k)!), l: figures(flooded.lat.get(k)!) };
  });
  console.log(
    [
      `one feed flooded: egov ${Math.round(rateOf(usual.sent))}/s (${usual.sent.good}) then ${Math.round(rateOf(flooded.sent))}/s (${flooded.sent.good}); ` +
        `backlog gone ${f1.settleMs} and ${f2.settleMs} ms after each flood`,
      ...rows.map(({ k, q, l }) => `${k}: usual ${fmt(q)} | egov x10 ${fmt(l)}`),
    ].join("\n"),
  );
  for (const { k, q, l } of rows) {
    expect(l.max, `${k}: a probe never committed`).toBeLessThan(Infinity);
    if (k === "dvc/egov") continue; // the flooded feed itself: reported, not bounded
    // Generous (two cores shared by ingest, Postgres, nats-server and the publisher), but a
    // feed stuck behind the flood would be seconds behind.
    expect(l.p50, k).toBeLessThan(Math.max(3 * q.p50, q.p50 + 250));
    expect(l.p99, k).toBeLessThan(Math.max(5 * q.p99, q.p99 + 1_000));
  }
}, 180_000);
