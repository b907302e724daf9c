/**
 * Live protocol property: for random interleavings of changes (events through real ingest),
 * disconnects (clean or abrupt) and reconnects (to either of two gateways, resuming with `since`
 * or starting afresh), a client that keeps what docs/live-protocol.md says a receiver keeps (per
 * key the value of the highest version; a reset snapshot replaces everything) ends with exactly
 * what Postgres holds. One gateway keeps a ring of 5 messages only, so resumes also go through
 * the LIVE stream and, past it, reset snapshots. The receiver is written here from the protocol
 * page, not taken from the gateway's own test client.
 */
import fc from "fast-check";
import { keyString } from "@pulse/contracts";
import { ingestHarness, type Envelope, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig, startLive, type Live } from "@pulse/live";
import { jetstreamManager } from "@pulse/nats";
import { WebSocket } from "ws";
import { afterAll, beforeAll, expect, it } from "vitest";

let h: Harness;
const gateways: Live[] = [];

const topics = ["subscribers", "bts_stations", "bts_station", "esign_day", "egov_day", "egov_minute", "feed"];

beforeAll(async () => {
  h = await ingestHarness("live_prop");
  for (const ring of ["20000", "5"]) {
    gateways.push(
      await startLive(
        loadConfig(
          {
            DATABASE_URL: h.database.url,
            NATS_URL: h.config.natsUrl,
            LIVE_PORT: "0",
            LIVE_ADMIN_PORT: "0",
            LIVE_HOST: "127.0.0.1",
            LIVE_HEARTBEAT_MS: "300",
            LIVE_RING: ring,
            LOG_LEVEL: "silent",
          },
          { names: h.names },
        ),
      ),
    );
  }
});
afterAll(async () => {
  for (const g of gateways) await g.close();
  await h?.close();
});

// ---------------------------------------------------------------------------------------------
// A receiver, from the protocol page.

type Entry = { metric: string; key: Record<string, string>; value: unknown; version: number };

class Receiver {
  readonly values = new Map<string, { value: unknown; version: number }>();
  seq = 0;
  ws: WebSocket | null = null;
  frames = { snapshot: 0, reset: 0, delta: 0, resumed: 0, heartbeat: 0, error: 0 };
  errors: string[] = [];

  /** Connects to a gateway and subscribes to every change-log topic, resuming from the last seq or not. */
  async connect(port: number, resume: boolean): Promise<void> {
    if (!resume) {
      this.values.clear();
      this.seq = 0;
    }
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live`);
    this.ws = ws;
    this.answered = false;
    let answered = false;
    ws.on("error", () => {});
    ws.on("message", (data) => {
      if (this.ws !== ws) return; // a socket we already left
      const f = JSON.parse(data.toString()) as {
        type: keyof Receiver["frames"];
        seq?: number;
        reset?: boolean;
        entries?: Entry[];
        message?: string;
      };
      this.frames[f.type] = (this.frames[f.type] ?? 0) + 1;
      if (f.type === "error") this.errors.push(f.message ?? "");
      if (f.type === "snapshot" && f.reset) {
        // Replaces what it held, the position in the sequence included.
        this.frames.reset++;
        this.values.clear();
        this.seq = 0;
      }
      for (const e of f.entries ?? []) {
        const k = `${e.metric}\u0000${keyString(e.key)}`;
        const cur = this.values.get(k);
        if (!cur || e.version >= cur.version) this.values.set(k, { value: e.value, version: e.version });
      }
      if (f.type === "snapshot" || f.type === "resumed") answered = this.answered = true;
      if (typeof f.seq === "number" && f.type !== "heartbeat") this.seq = Math.max(this.seq, f.seq);
      // A heartbeat's seq: everything up to it that concerns this client has been sent. Taken
      // only once the subscription is answered: before that, the gateway's heartbeats ran ahead
      // of a resume it was still reading (test/regressions/live-heartbeat-during-resume.test.ts).
      if (f.type === "heartbeat" && answered && typeof f.seq === "number") this.seq = Math.max(this.seq, f.seq);
    });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    ws.send(JSON.stringify({ op: "subscribe", id: "all", topics, ...(resume && this.seq > 0 ? { since: this.seq } : {}) }));
  }

  /** The current socket's subscription has been answered (a snapshot or `resumed`). */
  answered = false;

  disconnect(abrupt: boolean): void {
    const ws = this.ws;
    this.ws = null;
    if (!ws) return;
    if (abrupt) ws.terminate();
    else ws.close();
  }

  /** What it holds of one metric: keyString → value, gone keys (null) left out. */
  metric(metric: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of this.values) {
      const [m, key] = k.split("\u0000") as [string, string];
      if (m === metric && v.value !== null) out[key] = v.value;
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// What Postgres holds, in the change log's shapes.

async function postgres(): Promise<Record<string, Record<string, unknown>>> {
  const q = async (text: string) => (await h.db.pool.query(text)).rows as Record<string, string | number | boolean | Date | null>[];
  const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : null);
  const out: Record<string, Record<string, unknown>> = {};
  const put = (metric: string, key: Record<string, unknown>, value: unknown) =>
    ((out[metric] ??= {})[keyString(Object.fromEntries(Object.entries(key).map(([k, v]) => [k, String(v)])))] = value);
  for (const r of await q(`SELECT source, service, area, count::int FROM subscriber_gauges`))
    put("subscribers", { source: r.source, service: r.service, area: r.area }, r.count);
  for (const r of await q(`SELECT source, station, tech, area, status, since FROM bts_stations`))
    put("bts_station", { source: r.source, station: r.station }, { tech: r.tech, area: r.area, status: r.status, since: iso(r.since) });
  for (const r of await q(`SELECT source, tech, area, status, count(*)::int AS n FROM bts_stations GROUP BY 1, 2, 3, 4`))
    put("bts_stations", { source: r.source, tech: r.tech, area: r.area, status: r.status }, r.n);
  const day = `to_char(bucket AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD')`;
  for (const r of await q(
    `SELECT ${day} AS day, source, agency, area, signed, signer, count::int FROM esign_counts WHERE grain = 'day' AND count <> 0`,
  ))
    put("esign_day", { day: r.day, source: r.source, agency: r.agency, area: r.area, signed: r.signed, signer: r.signer }, r.count);
  for (const r of await q(
    `SELECT ${day} AS day, source, agency, level, channel, status, area, count::int FROM egov_counts WHERE grain = 'day' AND count <> 0`,
  ))
    put(
      "egov_day",
      { day: r.day, source: r.source, agency: r.agency, level: r.level, channel: r.channel, status: r.status, area: r.area },
      r.count,
    );
  for (const r of await q(
    `SELECT bucket, sum(count)::int AS n FROM egov_counts WHERE grain = 'minute' AND status = 'received' GROUP BY 1 HAVING sum(count) <> 0`,
  ))
    put("egov_minute", { minute: iso(r.bucket) }, r.n);
  for (const r of await q(`SELECT source, feed, last_received_at, last_event_ts, events::int FROM feed_status`))
    put(
      "feed",
      { source: r.source, feed: r.feed },
      { last_received_at: iso(r.last_received_at), last_event_ts: iso(r.last_event_ts), events: r.events },
    );
  return out;
}

/** The receiver's view in the same shape: counts of 0 are as good as absent (Postgres drops or zeroes them). */
function held(r: Receiver): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const t of topics) {
    const m = Object.entries(r.metric(t)).filter(([, v]) => !(v === 0 && t !== "subscribers"));
    if (m.length > 0) out[t] = Object.fromEntries(m);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Programs.

type Spec = { feed: "subscribers" | "bts" | "esign" | "egov"; n: number; revision: number; pick: number; agoS: number };
type Step =
  | { t: "publish"; events: Spec[] }
  | { t: "disconnect"; abrupt: boolean }
  | { t: "connect"; gateway: 0 | 1; resume: boolean; meanwhile: Spec[] }
  | { t: "bogus"; gateway: 0 | 1 }
  | { t: "sleep"; ms: number };

const spec: fc.Arbitrary<Spec> = fc.record({
  feed: fc.constantFrom("subscribers" as const, "bts" as const, "esign" as const, "egov" as const),
  n: fc.nat({ max: 5 }),
  revision: fc.nat({ max: 2 }),
  pick: fc.nat({ max: 1_000 }),
  agoS: fc.integer({ min: 60, max: 3 * 3600 }),
});
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant("publish" as const), events: fc.array(spec, { minLength: 1, maxLength: 12 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("disconnect" as const), abrupt: fc.boolean() }) },
  {
    weight: 2,
    // Changes may be committed while the client reconnects: the snapshot/resume boundary.
    arbitrary: fc.record({
      t: fc.constant("connect" as const),
      gateway: fc.constantFrom(0 as const, 1 as const),
      resume: fc.boolean(),
      meanwhile: fc.array(spec, { maxLength: 6 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant("sleep" as const), ms: fc.constantFrom(0, 50, 150, 400) }) },
  // A since from another stream (beyond LIVE's last sequence): the gateway must answer with a
  // reset snapshot, and the receiver replaces what it held.
  { weight: 1, arbitrary: fc.record({ t: fc.constant("bogus" as const), gateway: fc.constantFrom(0 as const, 1 as const) }) },
);

const sourcesOf = { subscribers: ["viettel", "vinaphone"], bts: ["viettel", "mobifone"], esign: ["edoc"], egov: ["dvc"] };

function envelope(run: string, s: Spec): { source: string; env: Envelope } {
  const source = sourcesOf[s.feed][s.pick % sourcesOf[s.feed].length]!;
  const ts = new Date(Math.floor((Date.now() - s.agoS * 1000) / 1000) * 1000).toISOString();
  const area = ["16681", "16732"][s.pick % 2]!; // two wards of the former district Vinh
  const id = `${run}-${s.feed}-${s.n}`;
  const data = {
    subscribers: { service: ["mobile", "ftth"][(s.pick >> 1) % 2], count: s.pick },
    bts: { station: `S${s.pick % 4}`, tech: "4G", status: ["up", "down", "degraded"][s.pick % 3] },
    esign: { agency: "so-khcn", doc: id, signed: s.pick % 3 !== 0, signer: "organization" },
    egov: {
      procedure: "p1",
      agency: "ubnd-xa",
      level: "commune",
      channel: "online_full",
      status: ["received", "resolved_on_time", "rejected"][s.pick % 3],
    },
  }[s.feed];
  return { source, env: { id, ts, area: s.feed === "esign" ? "40" : area, revision: s.revision, data } };
}

let runNo = 0;

async function lastLiveSeq(): Promise<number> {
  const jsm = await jetstreamManager(h.nc);
  return (await jsm.streams.info(h.names.live)).state.last_seq;
}

async function execute(steps: Step[]): Promise<Receiver> {
  const run = `p${++runNo}x${Date.now().toString(36)}`;
  const r = new Receiver();
  await r.connect(gateways[0]!.port, false);
  // Versions of one record keep one payload per revision (a repeat is a duplicate, never a
  // conflict whose outcome would depend on timing).
  const seen = new Map<string, string>();
  const publish = async (events: Spec[]) => {
    for (const e of events) {
      const { source, env } = envelope(run, e);
      const k = `${e.feed}:${e.n}:${e.revision}`;
      const body = JSON.stringify({ source, env: { ...env, ts: undefined } });
      if (seen.has(k) && seen.get(k) !== body) continue;
      seen.set(k, body);
      await h.publish(e.feed, source, env, { msgId: false });
    }
  };
  for (const s of steps) {
    if (s.t === "publish") await publish(s.events);
    else if (s.t === "disconnect") r.disconnect(s.abrupt);
    else if (s.t === "connect") {
      r.disconnect(false);
      const meanwhile = publish(s.meanwhile);
      await r.connect(gateways[s.gateway]!.port, s.resume);
      await meanwhile;
    } else if (s.t === "bogus") {
      r.disconnect(false);
      r.seq = (await lastLiveSeq()) + 1_000_000;
      await r.connect(gateways[s.gateway]!.port, true);
    } else await new Promise((res) => setTimeout(res, s.ms));
  }
  if (!r.ws) await r.connect(gateways[runNo % 2]!.port, true);
  await h.settle(20_000);
  const target = await lastLiveSeq();
  const until = Date.now() + 15_000;
  // Answered first: a bogus since is above any target until its reset snapshot arrives.
  while ((!r.answered || r.seq < target) && Date.now() < until) await new Promise((res) => setTimeout(res, 25));
  expect(r.answered, "the subscription answered").toBe(true);
  expect(r.seq, "the client caught up with LIVE").toBeGreaterThanOrEqual(target);
  return r;
}

// A run takes well under a second; a failing one may shrink for up to 100 s more.
const runs = Number(process.env.PULSE_PROPERTY_RUNS ?? 30);
const limitMs = runs * 2_000 + 100_000;

it(
  "ends with what Postgres holds, whatever the changes, disconnects and resumes",
  async () => {
    const totals = { runs: 0, steps: 0, resets: 0, resumed: 0, snapshots: 0 };
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const r = await execute(steps);
        try {
          expect(r.errors).toEqual([]);
          expect(held(r)).toEqual(await postgres());
        } finally {
          r.disconnect(false);
        }
        totals.runs++;
        totals.steps += steps.length;
        totals.resets += r.frames.reset;
        totals.resumed += r.frames.resumed;
        totals.snapshots += r.frames.snapshot;
      }),
      {
        numRuns: runs,
        // The whole property, shrinking included, stops (and fails) past this.
        interruptAfterTimeLimit: limitMs,
        markInterruptAsFailure: true,
        ...(process.env.PULSE_PROPERTY_SEED ? { seed: Number(process.env.PULSE_PROPERTY_SEED) } : {}),
      },
    );
    console.log(
      `live property: ${totals.runs} programs, ${totals.steps} steps, ${totals.snapshots} snapshots (${totals.resets} reset), ` +
        `${totals.resumed} resumed, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  },
  limitMs + 20_000,
);
