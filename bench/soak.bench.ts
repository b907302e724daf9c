/**
 * `pnpm bench:soak [--minutes 10] [--rate 2000] [--clients 500]` — not a test: the whole of Pulse
 * under a steady high load for a while, counted.
 *
 * The services of `pnpm start` (ingest, exporter, live gateway), each as its own process
 * (`tsx services/<s>/src/main.ts`, wired as scripts/start.ts wires them) so that each one's RSS
 * and heap are its own; the simulator in this process (its stats are the published count); the
 * live clients (`bench/support/live-clients.ts`) in one more. Runs on the machine's Postgres (a
 * fresh database, PULSE_TEST_PG_URL) and NATS (fresh stream names, PULSE_TEST_NATS_URL), both
 * removed afterwards.
 *
 * The load is the simulator at `--sim-rate` (default 100: about 160 events/s in office hours,
 * every source of seeds with its faults off) topped up to `--rate` by `bench/support/soak-load.ts`
 * (valid records of the four feeds, new ids). The simulator alone cannot give a steady 2,000
 * events/s: its gauges report at most once a second each, and its documents and dossiers follow
 * the office day (at 20:30 in Nghệ An, rate 1,200 gives 300 events/s).
 * Prints, at start, every `--sample` seconds and at the end: each process's RSS and heap,
 * consumer pending (pending + unacknowledged), p99 publish-to-commit (ingest's commit-lag
 * histogram: broker receipt → commit) and commit-to-client (every LIVE message a client frame
 * covers, from its `at`), events published, counted by ingest and seen by a client. At the end:
 * nothing lost (published = counted = Postgres; a client holding every change-log key = Postgres),
 * memory growth after warm-up, and how long pending took to reach zero after the load stopped.
 * Writes bench/soak.png (memory and latency over time).
 */
import { fork } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { LiveChange } from "@pulse/contracts";
import { createDb, sql } from "@pulse/db";
import { postgresValues } from "@pulse/live/testing";
import { allStreams, connectNats, DeliverPolicy, jetstream, jetstreamManager, testStreamNames, unsettledTotal } from "@pulse/nats";
import { loadConfig as loadSimulatorConfig, noFaults, startSimulator, type Simulator } from "@pulse/simulator";
import { createTestDatabase, sharedNatsUrl, uniqueTag } from "@pulse/testkit";
import { mergeReports, type ClientsReport } from "./support/live-clients-report";
import type { LoadStats } from "./support/soak-load";
import { renderPlot, type PlotPanel } from "./support/soak-plot";
import { bucketsOf, quantileOf, rssOf, scrape, startService, sumOf, type ServiceProc } from "./support/soak-services";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    rate: { type: "string", default: "2000" },
    clients: { type: "string", default: "500" },
    "sim-rate": { type: "string", default: "100" },
    sample: { type: "string" },
    out: { type: "string", default: fileURLToPath(new URL("./soak.png", import.meta.url)) },
  },
});
const MINUTES = Number(args.minutes);
const RATE = Number(args.rate);
const CLIENTS = Number(args.clients);
const SIM_RATE = Number(args["sim-rate"]);
/** Events/s the simulator gives at SIM_RATE (measured: rate 100 → 9,700 a minute, live, office hours). */
const PER_SIM = 1.62 * SIM_RATE;
const TOP_UP = Math.max(0, RATE - PER_SIM);
const SAMPLE_S = Number(args.sample ?? Math.max(5, Math.round(MINUTES * 3)));
const WARMUP_S = Math.min(120, Math.max(30, MINUTES * 6));
const TOPICS = ["subscribers", "bts_stations", "feed", "kpi", "freshness", "egov_minute"];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (b: number) => (b / 1048576).toFixed(0);

const tag = uniqueTag("soak");
const names = testStreamNames(tag);
const natsUrl = sharedNatsUrl();
const database = await createTestDatabase(tag);
const db = createDb({ url: database.url, poolMax: 2 });
const nc = await connectNats(natsUrl, "bench-soak");
const base = { DATABASE_URL: database.url, NATS_URL: natsUrl, PULSE_NAMESPACE: names.namespace!, LOG_LEVEL: "warn" };

process.stdout.write(
  `soak: ${MINUTES} min at ${RATE} events/s (simulator at rate ${SIM_RATE} ≈ ${PER_SIM.toFixed(0)}/s + ${TOP_UP.toFixed(0)}/s top-up), ${CLIENTS} live clients; ` +
    `database ${new URL(database.url).pathname.slice(1)}, namespace ${names.namespace}\n`,
);

const procs: ServiceProc[] = [];
let clientsChild: ReturnType<typeof fork> | null = null;
const sims: Simulator[] = [];
let loadChild: ReturnType<typeof fork> | null = null;
let loadStats: LoadStats = { published: 0, duplicates: 0, failed: 0 };
let auditor: ReturnType<typeof fork> | null = null;
/**
 * Sends `cmd` to a child process (none when empty) and resolves with its next answer carrying
 * `key`; rejects when the child exits or `timeoutMs` pass first (a child that cannot answer must
 * not hang the soak's end).
 */
const askChild = <T>(c: ReturnType<typeof fork>, cmd: string, key: string, timeoutMs = 60_000) =>
  new Promise<T>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      c.off("message", on);
      c.off("exit", gone);
    };
    const on = (m: Record<string, unknown>) => {
      if (!(key in m)) return;
      done();
      resolve(m[key] as T);
    };
    const gone = () => {
      done();
      reject(new Error(`a child exited before its answer (${key})`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no answer (${key}) from a child in ${timeoutMs} ms`));
    }, timeoutMs);
    c.on("message", on);
    c.once("exit", gone);
    if (cmd) c.send({ cmd });
  });
const askLoad = <T>(cmd: string, key: string) => askChild<T>(loadChild!, cmd, key);
const cleanup = async () => {
  for (const s of sims) await Promise.race([s.close(), sleep(10_000)]).catch(() => {});
  for (const c of [loadChild, clientsChild, auditor]) {
    try {
      c?.send({ cmd: "close" });
    } catch {
      /* already gone */
    }
  }
  await sleep(500);
  for (const c of [loadChild, clientsChild, auditor]) if (c && c.exitCode === null) c.kill("SIGKILL");
  for (const p of [...procs].reverse()) await p.stop();
  const jsm = await jetstreamManager(nc);
  for (const s of allStreams(names)) await jsm.streams.delete(s).catch(() => {});
  await nc.close();
  await db.close();
  await database.drop().catch(() => {});
};

// Ctrl-C: stop the load and every process, and remove the database and streams.
process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)));

try {
  // Order as scripts/start.ts: ingest (migrations, streams), exporter, gateway, then producers.
  const ingest = await startService("ingest", "ingest", base, { metricsVar: "INGEST_PORT" });
  procs.push(ingest);
  const exporter = await startService("exporter", "exporter", base, { metricsVar: "METRICS_PORT" });
  procs.push(exporter);
  const live = await startService(
    "live",
    "live",
    { ...base, LIVE_HOST: "127.0.0.1" },
    { metricsVar: "LIVE_ADMIN_PORT", portVar: "LIVE_PORT" },
  );
  procs.push(live);

  // Commit time of every LIVE sequence, handed to the clients' process (commit → receipt).
  const js = jetstream(nc);
  const follower = await js.consumers.get(names.live, { deliver_policy: DeliverPolicy.New });
  const followed = await follower.consume({ max_messages: 2_000 });
  let pairs: number[] = [];
  void (async () => {
    for await (const m of followed) pairs.push(m.seq, Date.parse(m.json<LiveChange>().at));
  })();
  const child = fork(fileURLToPath(new URL("./support/live-clients.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  clientsChild = child;
  child.on("error", () => {});
  const fromChild = <T>(pred: (m: T) => boolean) =>
    new Promise<T>((resolve) => {
      const on = (m: T) => {
        if (!pred(m)) return;
        child.off("message", on);
        resolve(m);
      };
      child.on("message", on);
    });
  await fromChild<{ ok?: string }>((m) => m.ok === "ready");
  const pairTimer = setInterval(() => {
    if (pairs.length === 0) return;
    child.send({ cmd: "at", pairs });
    pairs = [];
  }, 20);
  child.send({ cmd: "start", kind: "ws", url: `ws://127.0.0.1:${live.port}/live`, n: CLIENTS, topics: TOPICS });
  const started = await fromChild<{ ok?: string; connected?: number }>((m) => m.ok === "started");
  // One client holds every change-log key: at the end it must equal Postgres.
  const aud = fork(fileURLToPath(new URL("./support/soak-auditor.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  auditor = aud;
  aud.on("error", () => {});
  const ask = <T>(cmd: string, key: string) => askChild<T>(aud, cmd, key);
  await ask("", "ok");
  aud.send({ cmd: "start", url: `ws://127.0.0.1:${live.port}/live` });
  await ask("", "ok");
  type AuditReport = { seq: number; events: number; reconnects: number; closes: number[]; resets: number };
  const audit = () => ask<AuditReport>("report", "report");
  process.stdout.write(`clients: ${started.connected} of ${CLIENTS} connected, plus one holding every change-log key\n`);

  // --- sampling -----------------------------------------------------------------------------
  interface Sample {
    t: number;
    rss: Record<string, number>;
    heap: Record<string, number>;
    pending: number;
    p99Commit: number;
    p99Client: number;
    published: number;
    counted: number;
    seen: number;
    clientsOpen: number;
    perS: number;
  }
  const samples: Sample[] = [];
  const t0 = Date.now();
  let lastBuckets: Map<number, number> | null = null;
  const published = () =>
    sims.reduce((a, s) => {
      const p = s.stats().publish;
      return a + p.published - p.brokerDuplicates - p.retryDuplicates - p.unexpectedDuplicates;
    }, loadStats.published);
  const report = async () => mergeReports([await askChild<ClientsReport>(child, "report", "report")]);
  const take = async (): Promise<Sample> => {
    const [mi, me, ml] = await Promise.all([scrape(ingest.metricsPort), scrape(exporter.metricsPort), scrape(live.metricsPort)]);
    const buckets = bucketsOf(mi, "pulse_ingest_commit_lag_seconds");
    const r = await report();
    child.send({ cmd: "reset" });
    if (loadChild) loadStats = await askLoad<LoadStats>("stats", "stats");
    const s: Sample = {
      t: (Date.now() - t0) / 1000,
      rss: {
        ingest: rssOf(ingest.child.pid),
        exporter: rssOf(exporter.child.pid),
        live: rssOf(live.child.pid),
        "simulator+bench": process.memoryUsage().rss,
        load: rssOf(loadChild?.pid),
        clients: rssOf(child.pid),
      },
      heap: {
        ingest: sumOf(mi, "pulse_ingest_nodejs_heap_size_used_bytes"),
        exporter: sumOf(me, "pulse_exporter_nodejs_heap_size_used_bytes"),
        live: sumOf(ml, "pulse_live_nodejs_heap_size_used_bytes"),
        "simulator+bench": process.memoryUsage().heapUsed,
      },
      pending: await unsettledTotal(nc, names),
      p99Commit: quantileOf(buckets, lastBuckets, 0.99) * 1000,
      p99Client: r.p99,
      published: published(),
      counted: sumOf(mi, "pulse_ingest_events_total"),
      seen: (await audit()).events,
      clientsOpen: r.open,
      perS: 0,
    };
    const prev = samples.at(-1);
    s.perS = prev ? (s.counted - prev.counted) / (s.t - prev.t) : 0;
    lastBuckets = buckets;
    samples.push(s);
    return s;
  };
  const procNames = ["ingest", "exporter", "live", "simulator+bench", "load", "clients"];
  const header =
    "   t s | " +
    procNames.map((n) => `${n.slice(0, 10).padStart(10)} RSS/heap`).join(" | ") +
    " | pending | p99 pub→commit | p99 commit→client | published | counted | seen by client | ev/s";
  const line = (s: Sample) =>
    `${s.t.toFixed(0).padStart(6)} | ` +
    procNames
      .map((n) => `${mib(s.rss[n]!).padStart(6)}/${(s.heap[n] === undefined ? "-" : mib(s.heap[n]!)).padStart(4)} MiB`.padStart(19))
      .join(" | ") +
    ` | ${String(s.pending).padStart(7)} | ${s.p99Commit.toFixed(0).padStart(11)} ms | ${String(s.p99Client).padStart(14)} ms | ${String(s.published).padStart(9)} | ${String(s.counted).padStart(7)} | ${String(s.seen).padStart(14)} | ${s.perS.toFixed(0)}`;
  // The simulator first sends its inventory (every gauge and station) and, even without a
  // backfill, draws the day so far to skip it (a minute of CPU at rate 100): outside the window.
  const sim = await startSimulator(
    loadSimulatorConfig({}, { names, natsUrl, rate: SIM_RATE, backfill: false, faults: noFaults, logLevel: "warn" }),
    {},
  );
  sims.push(sim);
  const simFrom = Date.now();
  while (sim.stats().caughtUpAt === null) await sleep(200);
  await sleep(2_000);
  process.stdout.write(
    `simulator: inventory of ${sim.stats().messages} messages sent and acknowledged in ${((Date.now() - simFrom) / 1000).toFixed(0)} s\n`,
  );
  process.stdout.write(
    `\nstart (before the full load):\n${header}\n${line(await take())}\n\ntime series (every ${SAMPLE_S} s; warm-up ${WARMUP_S} s):\n${header}\n`,
  );

  // --- load ---------------------------------------------------------------------------------
  const lc = fork(fileURLToPath(new URL("./support/soak-load.ts", import.meta.url)), [], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  lc.on("error", () => {});
  loadChild = lc;
  await askLoad("", "ok");
  lc.send({ cmd: "start", natsUrl, namespace: names.namespace, rate: TOP_UP, tag });
  await askLoad("", "ok");
  const loadFrom = Date.now();
  const loadUntil = loadFrom + MINUTES * 60_000;
  let warmIndex = -1;
  while (Date.now() < loadUntil) {
    await sleep(Math.min(SAMPLE_S * 1000, loadUntil - Date.now()));
    const s = await take();
    if (warmIndex < 0 && (Date.now() - loadFrom) / 1000 >= WARMUP_S) warmIndex = samples.length - 1;
    process.stdout.write(`${line(s)}\n`);
  }

  // --- the end of the load: pending back to zero, then the counts --------------------------
  // Bounded: a stop that does not answer must not hide the figures. How long each took is printed.
  const stopFrom = Date.now();
  const bounded = <T>(p: Promise<T>, what: string) =>
    Promise.race([
      p.then(() => process.stdout.write(`(${what}: ${Date.now() - stopFrom} ms)\n`)),
      sleep(30_000).then(() => process.stdout.write(`(${what} did not finish within 30 s)\n`)),
    ]);
  await Promise.all([
    ...sims.map((s) => bounded(s.close(), "simulator close")),
    bounded(
      askLoad<LoadStats>("stop", "stopped").then((st) => (loadStats = st)),
      "load stop",
    ),
  ]);
  // The load's process exits once stopped: never ask it again (an answer that cannot come hung the end).
  loadChild = null;
  const loadEnd = Date.now();
  let drainedMs = NaN;
  for (let until = loadEnd + 120_000; Date.now() < until;) {
    if ((await unsettledTotal(nc, names)) === 0) {
      drainedMs = Date.now() - loadEnd;
      break;
    }
    await sleep(20);
  }
  // The relay and the gateway catch up; the auditor then holds the last change.
  const relayBehind = async () =>
    (
      await sql<{
        n: number;
      }>`SELECT (SELECT coalesce(max(id), 0) FROM changes) - (SELECT coalesce(max(last_id), 0) FROM relay_cursor) AS n`.execute(db.db)
    ).rows[0]!.n;
  for (let until = Date.now() + 30_000; Date.now() < until && (await relayBehind()) > 0;) await sleep(50);
  const liveSeq = async () => ((await (await fetch(`http://127.0.0.1:${live.port}/healthz`)).json()) as { seq: number }).seq;
  const streamLast = (await (await jetstreamManager(nc)).streams.info(names.live)).state.last_seq;
  for (let until = Date.now() + 30_000; Date.now() < until && ((await liveSeq()) < streamLast || (await audit()).seq < streamLast);)
    await sleep(50);
  await sleep(500);
  const end = await take();
  process.stdout.write(`\nend (load stopped, drained):\n${header}\n${line(end)}\n`);

  const inPg = Number((await sql<{ n: string }>`SELECT coalesce(sum(events), 0)::bigint AS n FROM feed_status`.execute(db.db)).rows[0]!.n);
  const pgValues = await postgresValues(db);
  const held = await ask<Record<string, unknown>>("values", "values");
  const audited = await audit();
  const keys = new Set([...Object.keys(pgValues), ...Object.keys(held)]);
  let differ = 0;
  for (const k of keys) if (JSON.stringify(pgValues[k]) !== JSON.stringify(held[k])) differ++;
  const outcomes = await scrape(ingest.metricsPort);
  const dead = sumOf(outcomes, "pulse_ingest_events_total", ['outcome="dead_letter"']);
  const dups = sumOf(outcomes, "pulse_ingest_events_total", ['outcome="duplicate"']);
  const simStats = sims.map((s) => s.stats().publish);
  const failed = simStats.reduce((a, p) => a + p.failed, loadStats.failed);
  const unexpected = simStats.reduce((a, p) => a + p.unexpectedDuplicates, loadStats.duplicates);

  // Memory after warm-up: the mean of the first three samples after it against the last three.
  const after = samples.slice(Math.max(1, warmIndex), samples.length - 1);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const growth: Record<string, { rss: number; heap: number }> = {};
  for (const n of procNames) {
    if (after.length < 4) break;
    const first = after.slice(0, 3);
    const last = after.slice(-3);
    const g = (f: (s: Sample) => number) => mean(last.map(f)) / mean(first.map(f)) - 1;
    growth[n] = { rss: g((s) => s.rss[n]!), heap: n in after[0]!.heap ? g((s) => s.heap[n]!) : NaN };
  }
  const loadSamples = samples.slice(1, samples.length - 1);
  const maxOf = (f: (s: Sample) => number) => Math.max(...loadSamples.map(f).filter(Number.isFinite));
  const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : "-");
  const ok = (b: boolean) => (b ? "PASS" : "FAIL");
  const minutesRun = (loadEnd - loadFrom) / 60_000;
  const summary = [
    "",
    `summary: ${minutesRun.toFixed(1)} min of load, ${(end.counted / ((loadEnd - loadFrom) / 1000)).toFixed(0)} events/s on average`,
    `  published (new to the broker) ${end.published}; counted by ingest ${end.counted} (duplicates ${dups}, dead letters ${dead}); in Postgres (feed_status.events) ${inPg}; seen by a client ${end.seen}; publish failures ${failed}, unexpected duplicates ${unexpected}`,
    `  ${ok(end.published === end.counted && end.counted === inPg && inPg === end.seen)}  nothing lost: published = counted = Postgres = client`,
    `  ${ok(differ === 0)}  a client's figures = Postgres: ${keys.size} keys, ${differ} differ`,
    `  ${ok(Number.isFinite(drainedMs) && drainedMs <= 1_000)}  pending back to zero ${Number.isFinite(drainedMs) ? `${drainedMs} ms` : "not within 120 s"} after the load's end (target ≤ 1,000 ms)`,
    ...Object.entries(growth).map(
      ([n, g]) =>
        `  ${ok(g.rss < 0.1)}  ${n.padEnd(16)} RSS growth after warm-up ${pct(g.rss).padStart(7)}, heap ${pct(g.heap).padStart(7)} (target RSS < 10 %)`,
    ),
    `  latency under load: p99 publish→commit max ${maxOf((s) => s.p99Commit).toFixed(0)} ms (window p99s median ${[...loadSamples.map((s) => s.p99Commit)].sort((a, b) => a - b)[loadSamples.length >> 1]?.toFixed(0)} ms); p99 commit→client max ${maxOf((s) => s.p99Client)} ms (median ${[...loadSamples.map((s) => s.p99Client)].sort((a, b) => a - b)[loadSamples.length >> 1]} ms)`,
    `  clients open at the end ${end.clientsOpen} of ${started.connected}; the auditor reconnected ${audited.reconnects} times (closes ${JSON.stringify(audited.closes)}, reset snapshots ${audited.resets})`,
  ];
  process.stdout.write(summary.join("\n") + "\n");

  const colors: Record<string, string> = {
    ingest: "#1f77b4",
    exporter: "#2ca02c",
    live: "#d62728",
    "simulator+bench": "#9467bd",
    load: "#e377c2",
    clients: "#8c564b",
  };
  const warmMark: [number, string][] = warmIndex > 0 ? [[samples[warmIndex]!.t, "warm-up done"]] : [];
  const panels: PlotPanel[] = [
    {
      title: "RSS per process (solid) and V8 heap used (dashed)",
      unit: "MiB",
      marks: warmMark,
      series: procNames.flatMap((n) => [
        { label: `${n} RSS`, color: colors[n]!, points: samples.map((s) => [s.t, s.rss[n]! / 1048576] as [number, number]) },
        ...(n in samples[0]!.heap
          ? [
              {
                label: `${n} heap`,
                color: colors[n]!,
                dashed: true,
                points: samples.map((s) => [s.t, s.heap[n]! / 1048576] as [number, number]),
              },
            ]
          : []),
      ]),
    },
    {
      title: "p99 latency per sample window",
      unit: "ms",
      marks: warmMark,
      series: [
        { label: "publish → commit", color: "#1f77b4", points: loadSamples.map((s) => [s.t, s.p99Commit]) },
        { label: "commit → client", color: "#d62728", points: loadSamples.map((s) => [s.t, s.p99Client]) },
      ],
    },
    {
      title: "consumer pending and events/s counted by ingest",
      unit: "",
      series: [
        { label: "pending", color: "#ff7f0e", points: samples.map((s) => [s.t, s.pending]) },
        { label: "events/s", color: "#17becf", points: samples.slice(1).map((s) => [s.t, s.perS]) },
      ],
    },
  ];
  const title = `pnpm bench:soak — ${minutesRun.toFixed(1)} min at ${RATE} events/s target, ${CLIENTS} clients (${new Date(t0).toISOString().slice(0, 16)}Z)`;
  const saved = `${tmpdir()}/pulse-soak-${tag}.json`;
  writeFileSync(saved, JSON.stringify({ title, panels, samples }, null, 1));
  await renderPlot(title, panels, args.out!);
  process.stdout.write(`plot: ${args.out} (series in ${saved})\n`);
  clearInterval(pairTimer);
} catch (err) {
  process.stderr.write(`soak failed: ${(err as Error).stack ?? err}\n`);
  for (const p of procs) process.stderr.write(`--- ${p.name} output (tail) ---\n${p.output().slice(-3_000)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
process.exit();
