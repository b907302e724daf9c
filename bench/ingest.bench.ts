/**
 * `pnpm bench:ingest` — not a test: prints figures and ratios measured in this one run.
 *
 * 1. Throughput. N events (BENCH_EVENTS, default 500,000: the four feeds mixed, 1% duplicates
 *    sent again without Msg-Id so only ingest can tell, 0.1% restatements, 5% of events hours
 *    late, the rest within two minutes of now) are loaded into the
 *    stream with ingest stopped. Then, in BENCH_ROUNDS rounds (default 3): bare consumers that
 *    only fetch and ack the same messages, with the official client's consume() and with
 *    ingest's own Puller (this machine's client-side limit), then ingest draining them to
 *    committed aggregates (a fresh database and fresh consumers each round). Prints each round's
 *    rates, ratios and where the CPU went (Postgres, nats-server, Node), then the medians: of
 *    the rates, and of the ratios taken within each round (target ≥ 0.5).
 * 2. Latency. A steady BENCH_RATE events/s (default 1,000) for BENCH_SECONDS (default 30) with
 *    ingest running; publish-to-commit p50/p99 (target p99 < 100 ms), from the broker's receipt
 *    time of each message to the commit that applied it.
 * BENCH_PARTS=throughput or =latency runs one part only.
 * BENCH_PROFILE=<file> writes a V8 CPU profile of the first round's drain (ingest runs in this
 * process), BENCH_HEAP_PROFILE=<file> a sampling profile of what it allocates. BENCH_BASELINES=0
 * times ingest alone.
 * Runs on the machine's Postgres (PULSE_TEST_PG_URL) and NATS (PULSE_TEST_NATS_URL), in a fresh
 * database and fresh streams, removed afterwards. Never on the embedded Postgres.
 */
import { writeFileSync } from "node:fs";
import { feeds, msgId, type Feed } from "@pulse/contracts";
import { createDb, sql } from "@pulse/db";
import { loadConfig, startIngest, type Ingest } from "@pulse/ingest";
import {
  AckPolicy,
  allStreams,
  consumerBacklog,
  unsettledTotal,
  connectNats,
  feedStream,
  ensureStreams,
  headers,
  jetstream,
  jetstreamManager,
  Puller,
  testStreamNames,
  withPrefix,
  type StreamNames,
} from "@pulse/nats";
import { createTestDatabase, sharedNatsUrl, uniqueTag } from "@pulse/testkit";
import { areaMap, localDayNumber } from "@pulse/seeds";
import { cpuMeter, machineBusy } from "./support/cpu-usage";

const N = Number(process.env.BENCH_EVENTS ?? 500_000);
const RATE = Number(process.env.BENCH_RATE ?? 1_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const natsUrl = sharedNatsUrl();

type Msg = { subject: string; body: string; id: string | null };

/** The mix: e-gov steps 40%, e-sign 30%, BTS 20%, subscriber readings 10%. */
function* events(n: number, names: StreamNames, tag: string): Generator<Msg> {
  // The communes and wards in force today (records are dated now or up to six hours back).
  const communes = areaMap.leavesOn(localDayNumber(Date.now())).map((a) => a.code);
  const base = Date.now() - 6 * 3_600_000;
  let x = 42;
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const recent: Msg[] = [];
  for (let i = 0; i < n; i++) {
    const area = communes[i % communes.length]!;
    // Mostly current (within two minutes), 5% late by up to six hours: late events must land in
    // their old buckets, and they make the bucket upserts touch many more keys.
    const late = rand() < 0.05;
    const ts = new Date(late ? base + Math.floor(rand() * 6 * 3_600_000) : Date.now() - Math.floor(rand() * 120_000)).toISOString();
    const r = rand();
    let feed: string, source: string, data: object, id: string;
    if (r < 0.01 && recent.length) {
      // 1%: the same record again, without Msg-Id.
      const again = recent[Math.floor(rand() * recent.length)]!;
      yield { ...again, id: null };
      continue;
    }
    const restate = r < 0.011 && i > 1000;
    if (r < 0.41) {
      feed = "egov";
      source = "dvc";
      const k = restate ? Math.floor(rand() * (i - 1)) : i;
      id = `${tag}-d${k}`;
      data = {
        procedure: `p${k % 50}`,
        agency: k % 3 ? "ubnd-xa" : "so-nn-mt",
        level: k % 3 ? "commune" : "province",
        channel: ["online_full", "online_partial", "in_person"][k % 3],
        status: ["received", "resolved_on_time", "resolved_late", "rejected"][(k + (restate ? 1 : 0)) % 4],
      };
    } else if (r < 0.71) {
      feed = "esign";
      source = "edoc";
      id = `${tag}-doc${i}`;
      data = { agency: "so-khcn", doc: `doc${i}`, signed: rand() < 0.96, signer: rand() < 0.2 ? "personal" : "organization" };
    } else if (r < 0.91) {
      feed = "bts";
      source = ["viettel", "vinaphone", "mobifone", "vietnamobile"][i % 4]!;
      id = `${tag}-b${i}`;
      data = { station: `NA-${i % 8176}`, tech: ["2G", "3G", "4G", "5G"][i % 4], status: rand() < 0.97 ? "up" : "down" };
    } else {
      feed = "subscribers";
      source = ["viettel", "vinaphone", "mobifone", "vietnamobile"][i % 4]!;
      id = `${tag}-s${i}`;
      data = { service: ["mobile", "mobile_broadband", "fixed_broadband", "ftth"][i % 4], count: Math.floor(rand() * 300_000) };
    }
    const revision = restate ? 1 : 0;
    const env = { v: 1, id, source, ts, area, revision, data };
    const m = { subject: withPrefix(names, `feeds.${feed}.${source}`), body: JSON.stringify(env), id: msgId(source, id, revision) };
    recent.push(m);
    if (recent.length > 1000) recent.shift();
    yield m;
  }
}

/** Fresh streams, and a fresh database unless the caller makes its own. */
async function setup(tag: string, options: { database?: boolean } = {}) {
  const names = testStreamNames(tag);
  const database = options.database === false ? null : await createTestDatabase(tag);
  const nc = await connectNats(natsUrl, `bench-${tag}`);
  await ensureStreams(nc, { names });
  return { names, database, nc, js: jetstream(nc) };
}

async function publishAll(js: ReturnType<typeof jetstream>, gen: Generator<Msg>): Promise<number> {
  let n = 0;
  let window: Promise<unknown>[] = [];
  for (const m of gen) {
    const h = headers();
    if (m.id) h.set("Nats-Msg-Id", m.id);
    window.push(js.publish(m.subject, m.body, { headers: h }));
    n++;
    if (window.length >= 2_000) {
      await Promise.all(window);
      window = [];
    }
  }
  await Promise.all(window);
  return n;
}

async function drained(nc: Awaited<ReturnType<typeof connectNats>>, names: StreamNames): Promise<void> {
  while ((await unsettledTotal(nc, names)) > 0) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until every feed's consumer has settled all; returns when each feed got there (ms after `t0`). */
async function drainedPerFeed(nc: Awaited<ReturnType<typeof connectNats>>, names: StreamNames, t0: number): Promise<Map<Feed, number>> {
  const done = new Map<Feed, number>();
  while (done.size < feeds.length) {
    for (const f of feeds) {
      if (done.has(f)) continue;
      const b = await consumerBacklog(nc, names, f);
      if (b.pending + b.ackPending === 0) done.set(f, performance.now() - t0);
    }
    if (done.size < feeds.length) await new Promise((r) => setTimeout(r, 20));
  }
  return done;
}

/**
 * Profiles of this process (ingest runs in it) while it drains: BENCH_PROFILE=<file> a V8 CPU
 * profile, BENCH_HEAP_PROFILE=<file> a sampling profile of what it allocates. Returns the stop,
 * which writes them.
 */
async function startProfiles(): Promise<() => Promise<void>> {
  const cpuFile = process.env.BENCH_PROFILE;
  const heapFile = process.env.BENCH_HEAP_PROFILE;
  if (!cpuFile && !heapFile) return async () => {};
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  if (cpuFile) {
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
  }
  if (heapFile) {
    await session.post("HeapProfiler.enable");
    // Keep what GC took too: the allocation rate, not what survived, is what costs here.
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 16_384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
  }
  return async () => {
    if (cpuFile) {
      writeFileSync(cpuFile, JSON.stringify((await session.post("Profiler.stop")).profile));
      console.log(`  CPU profile of the drain written to ${cpuFile} (open it in Chrome DevTools or speedscope)`);
    }
    if (heapFile) {
      writeFileSync(heapFile, JSON.stringify((await session.post("HeapProfiler.stopSampling")).profile));
      console.log(`  allocation profile of the drain written to ${heapFile} (open it in Chrome DevTools)`);
    }
    session.disconnect();
  };
}

async function cleanup(s: Awaited<ReturnType<typeof setup>>) {
  const jsm = await jetstreamManager(s.nc);
  for (const n of allStreams(s.names)) await jsm.streams.delete(n).catch(() => {});
  await s.nc.close();
  await s.database?.drop();
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

/** The median of one or more numbers (the middle one, or the mean of the two middle ones). */
const median = (xs: readonly number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
};

/** Each process group's CPU seconds over `per`, scaled: `postgres 72%` (of a core, per second) or `postgres 16` (µs per event). */
const cpuLine = (cpu: Record<string, number>, per: number, scale: number, unit = "") =>
  Object.entries(cpu)
    .map(([k, v]) => `${k.split(" ")[0]} ${((v / per) * scale).toFixed(0)}${unit}`)
    .join(", ");

async function throughput() {
  const tag = uniqueTag("bthru");
  const s = await setup(tag, { database: false });
  // Each round's database, dropped by the round itself, or here if a round fails.
  const databases: { drop(): Promise<void> }[] = [];
  try {
    const t = performance.now();
    const published = await publishAll(s.js, events(N, s.names, tag));
    const jsm = await jetstreamManager(s.nc);
    const perFeed = new Map<Feed, number>();
    for (const f of feeds) perFeed.set(f, (await jsm.streams.info(feedStream(s.names, f))).state.messages);
    const stored = [...perFeed.values()].reduce((a, b) => a + b, 0);
    console.log(`loaded ${fmt(published)} events (${fmt(stored)} stored) in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // Baselines: bare durable consumers over the same messages (one per feed stream, side by side,
    // as ingest reads them), fetch + ack only: the official client's consume() (what a plain
    // nats.js service gets) and ingest's own Puller (the fastest this client goes).
    const bare = async (consumer: string, consume: (stream: string, want: number, consumer: string) => Promise<void>) => {
      const t0 = performance.now();
      const meter = cpuMeter();
      await Promise.all(
        feeds.map(async (f) => {
          const stream = feedStream(s.names, f);
          await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.Explicit, max_ack_pending: 20_000 });
          await consume(stream, perFeed.get(f)!, consumer);
        }),
      );
      const sec = (performance.now() - t0) / 1000;
      return { rate: stored / sec, sec, cpu: meter() };
    };
    const library = (round: number) =>
      bare(`bench-lib-${round}`, async (stream, want, consumer) => {
        const c = await s.js.consumers.get(stream, consumer);
        const msgs = await c.consume({ max_messages: 1_000 });
        let got = 0;
        for await (const m of msgs) {
          m.ack();
          if (++got >= want) break;
        }
        await msgs.close();
      });
    // The same batch size as ingest's (INGEST_BATCH_SIZE): the baseline at ingest's own settings.
    const batchSize = loadConfig(process.env).batchSize;
    const puller = (round: number) =>
      bare(`bench-bare-${round}`, async (stream, want, consumer) => {
        const p = new Puller(s.nc, { stream, consumer, batchSize });
        p.start();
        for (let got = 0; got < want;) {
          const b = await p.nextBatch(2_000);
          for (const m of b) m.ack();
          p.settled(b);
          got += b.length;
        }
        await p.close();
      });

    // Ingest over the same messages: a fresh database and fresh durable consumers each round.
    const ingestRound = async (round: number) => {
      const database = await createTestDatabase(`${tag}-r${round}`);
      databases.push(database);
      const names = { ...s.names, consumerPrefix: `ingest-r${round}` };
      const config = loadConfig(
        { ...process.env, DATABASE_URL: database.url, INGEST_PORT: "0", LOG_LEVEL: "warn", NATS_URL: natsUrl },
        { names },
      );
      const t0 = performance.now();
      const meter = cpuMeter();
      const busy = machineBusy();
      const stopProfiles = round === 1 ? await startProfiles() : async () => {};
      const ingest = await startIngest(config);
      const finished = await drainedPerFeed(s.nc, names, t0);
      const sec = (performance.now() - t0) / 1000;
      const cpu = meter();
      const machine = busy();
      await stopProfiles();
      const sizes = await ingest.metrics.batchSize.get();
      const secs = await ingest.metrics.batchSeconds.get();
      const sum = (vs: typeof sizes.values, suffix: string) =>
        vs.filter((v) => v.metricName?.endsWith(suffix)).reduce((a, v) => a + v.value, 0);
      const batches = sum(sizes.values, "_count");
      const outcome = await ingest.metrics.events.get();
      const by = (o: string) => outcome.values.filter((v) => v.labels.outcome === o).reduce((a, v) => a + v.value, 0);
      await ingest.close();
      const db = createDb({ url: database.url });
      const rows = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(db.db)).rows[0]!.n;
      await db.close();
      // LIVE goes with the round's database: the relay numbers its messages by change id, which a
      // fresh database starts again at 1, and the next round's would be dropped as duplicates.
      await jsm.streams.delete(names.live);
      await database.drop();
      const cpuTotal = Object.values(cpu).reduce((a, b) => a + b, 0);
      return {
        rate: stored / sec,
        sec,
        detail: [
          `CPU ${cpuLine(cpu, sec, 100, "%")}, the machine busy ${(machine * 100).toFixed(0)}%; ` +
            `${((cpuTotal / stored) * 1e6).toFixed(0)} µs of CPU per event (${cpuLine(cpu, stored, 1e6)})`,
          // Each feed is one serial chain of transactions: the last feed to finish is the critical path.
          `feeds drained after ${feeds.map((f) => `${f} ${(finished.get(f)! / 1000).toFixed(1)} s`).join(", ")}; ` +
            `${fmt(batches)} batches of ${fmt(sum(sizes.values, "_sum") / batches)} messages, ${((sum(secs.values, "_sum") / batches) * 1000).toFixed(0)} ms each (fetch to commit)`,
          `outcomes: inserted ${fmt(by("inserted"))}, restated ${fmt(by("restated"))}, duplicate ${fmt(by("duplicate"))}, dead_letter ${fmt(by("dead_letter"))}; raw rows ${fmt(rows)}`,
        ],
      };
    };

    // Rounds of the three side by side, so that the machine's speed, which drifts by a tenth or
    // more over a minute here, moves all three alike; each ratio is taken within its round, and
    // the run counts at the medians. BENCH_BASELINES=0 times ingest alone (comparing two builds).
    const rounds = Math.max(1, Math.floor(Number(process.env.BENCH_ROUNDS ?? 3)) || 1);
    const skip = process.env.BENCH_BASELINES === "0";
    const results: { lib: number; pull: number; ingest: number }[] = [];
    for (let round = 1; round <= rounds; round++) {
      const lib = skip ? null : await library(round);
      const pull = skip ? null : await puller(round);
      const ing = await ingestRound(round);
      results.push({ lib: lib?.rate ?? NaN, pull: pull?.rate ?? NaN, ingest: ing.rate });
      console.log(`round ${round}:`);
      if (lib) console.log(`  bare consume + ack, nats.js consume(): ${fmt(lib.rate)} msg/s (CPU ${cpuLine(lib.cpu, lib.sec, 100, "%")})`);
      if (pull)
        console.log(`  bare consume + ack, ingest's Puller:   ${fmt(pull.rate)} msg/s (CPU ${cpuLine(pull.cpu, pull.sec, 100, "%")})`);
      console.log(`  ingest to committed aggregates:       ${fmt(ing.rate)} events/s (${ing.sec.toFixed(1)} s)`);
      for (const line of ing.detail) console.log(`    ${line}`);
      if (lib && pull)
        console.log(
          `  ratio ingest / bare: ${(ing.rate / lib.rate).toFixed(2)} against consume(), ${(ing.rate / pull.rate).toFixed(2)} against the Puller`,
        );
    }
    const col = (k: "lib" | "pull" | "ingest") => results.map((r) => r[k]);
    const list = (xs: number[], d = 0) => xs.map((x) => (d ? x.toFixed(d) : fmt(x))).join(" / ");
    console.log(`over ${rounds} round${rounds > 1 ? "s" : ""}, medians:`);
    if (!skip) {
      console.log(`  bare consume + ack, nats.js consume(): ${fmt(median(col("lib")))} msg/s (${list(col("lib"))})`);
      console.log(`  bare consume + ack, ingest's Puller:   ${fmt(median(col("pull")))} msg/s (${list(col("pull"))})`);
    }
    console.log(`  ingest to committed aggregates:       ${fmt(median(col("ingest")))} events/s (${list(col("ingest"))})`);
    if (!skip) {
      const rLib = results.map((r) => r.ingest / r.lib);
      const rPull = results.map((r) => r.ingest / r.pull);
      console.log(
        `ratio ingest / bare: ${median(rLib).toFixed(2)} against consume() (${list(rLib, 2)}), ` +
          `${median(rPull).toFixed(2)} against the Puller (${list(rPull, 2)}) (target >= 0.5)`,
      );
    }
  } finally {
    for (const d of databases) await d.drop().catch(() => {});
    await cleanup(s);
  }
}

async function latency() {
  const tag = uniqueTag("blat");
  const s = await setup(tag);
  let ingest: Ingest | null = null;
  try {
    const lags: number[] = [];
    const config = loadConfig(
      { ...process.env, DATABASE_URL: s.database!.url, INGEST_PORT: "0", LOG_LEVEL: "warn", NATS_URL: natsUrl },
      { names: s.names },
    );
    ingest = await startIngest(config, { onCommit: (_f, received, committed) => received.forEach((r) => lags.push(committed - r)) });
    const gen = events(RATE * SECONDS, s.names, tag);
    const start = performance.now();
    let sent = 0;
    const inflight: Promise<unknown>[] = [];
    // Paced in 10 ms steps: RATE/100 events each.
    while (sent < RATE * SECONDS) {
      const due = Math.min(RATE * SECONDS, Math.floor(((performance.now() - start) / 1000) * RATE));
      for (; sent < due; sent++) {
        const m = gen.next();
        if (m.done) break;
        const h = headers();
        if (m.value.id) h.set("Nats-Msg-Id", m.value.id);
        inflight.push(s.js.publish(m.value.subject, m.value.body, { headers: h }));
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(inflight);
    await drained(s.nc, s.names);
    await ingest.close();
    ingest = null;
    lags.sort((a, b) => a - b);
    const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))]!;
    console.log(
      `latency at ${fmt(RATE)} events/s for ${SECONDS} s (${fmt(lags.length)} commits observed): p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lags.at(-1)} ms (target p99 < 100 ms)`,
    );
  } finally {
    await ingest?.close();
    await cleanup(s);
  }
}

console.log(`bench:ingest — ${new Date().toISOString()}, Postgres + NATS on this machine`);
const parts = (process.env.BENCH_PARTS ?? "throughput,latency").split(",");
if (parts.includes("throughput")) await throughput();
if (parts.includes("latency")) await latency();
process.exit(0);
