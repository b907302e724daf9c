/**
 * Publish-to-commit latency of good messages, measured by identity: each probe is one valid
 * record, timed from just before its publish until a poll of `events` finds it committed (every
 * 10 ms, by primary key). Works whatever runs ingest (this process or another).
 */
import { sql, type Db } from "@pulse/db";
import type { Envelope, Harness } from "@pulse/ingest/test-harness";

export interface ProbeTarget {
  feed: "subscribers" | "bts" | "esign" | "egov";
  source: string;
}

export interface LatencyFigures {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

export function figures(ms: number[]): LatencyFigures {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.at(-1) ?? NaN };
}

export const fmt = (f: LatencyFigures) => `p50 ${f.p50.toFixed(0)} p99 ${f.p99.toFixed(0)} max ${f.max.toFixed(0)} ms (n=${f.n})`;

/** A valid record of the target's feed, with the given id, dated now: Phường Thành Vinh (16681), current agencies. */
export function goodRecord(t: ProbeTarget, id: string, i: number): Envelope {
  const ts = new Date(Date.now() - 1_000).toISOString();
  switch (t.feed) {
    case "subscribers":
      return { id, ts, area: "16681", data: { service: "mobile", count: i } };
    case "bts":
      return { id, ts, area: "16681", data: { station: `probe-${i % 50}`, tech: "4G", status: i % 2 ? "up" : "down" } };
    case "esign":
      return { id, ts, area: "40", data: { agency: "so-khcn", doc: id, signed: true, signer: "organization" } };
    case "egov":
      return {
        id,
        ts,
        area: "16681",
        data: { procedure: "p1", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received" },
      };
  }
}

/**
 * Runs probes on every target, one per target every `everyMs`, for `durationMs`; returns each
 * target's latencies (ms) once every probe is committed (or after `settleMs`, missing ones as
 * Infinity).
 */
export async function probeLatency(
  h: Harness,
  db: Db,
  targets: readonly ProbeTarget[],
  opts: { label: string; everyMs: number; durationMs: number; settleMs?: number },
): Promise<Map<string, number[]>> {
  const pending = new Map<string, { target: string; source: string; at: number }>();
  const out = new Map<string, number[]>(targets.map((t) => [`${t.source}/${t.feed}`, []]));
  let polling = true;
  let deadline = Infinity;
  const poller = (async () => {
    while (polling || pending.size > 0) {
      if (pending.size > 0) {
        const ids = [...pending.keys()];
        const sources = [...new Set([...pending.values()].map((p) => p.source))];
        const r = await sql<{
          id: string;
        }>`SELECT id FROM events WHERE source = ANY(${sources}::text[]) AND id = ANY(${ids}::text[])`.execute(db.db);
        const now = performance.now();
        for (const { id } of r.rows) {
          const p = pending.get(id);
          if (!p) continue;
          out.get(p.target)!.push(now - p.at);
          pending.delete(id);
        }
      }
      await new Promise((r) => setTimeout(r, 10));
      if (!polling && performance.now() > deadline) break;
    }
  })();
  const started = performance.now();
  const publishes: Promise<unknown>[] = [];
  for (let i = 0; performance.now() - started < opts.durationMs; i++) {
    const next = started + i * opts.everyMs;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    for (const t of targets) {
      const id = `${opts.label}-${t.source}-${t.feed}-${i}`;
      const at = performance.now();
      pending.set(id, { target: `${t.source}/${t.feed}`, source: t.source, at });
      publishes.push(h.publish(t.feed, t.source, goodRecord(t, id, i)));
    }
  }
  await Promise.all(publishes);
  deadline = performance.now() + (opts.settleMs ?? 30_000);
  polling = false;
  await poller;
  for (const p of pending.values()) out.get(p.target)!.push(Infinity);
  return out;
}
