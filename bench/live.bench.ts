/**
 * `pnpm bench:live` — not a test: prints figures and ratios measured in this one run.
 *
 * Three processes besides NATS and Postgres: this one (the load: LIVE injection or feed
 * publishing, plus ingest in the pipeline part), the gateway (`services/live/src/main.ts`, as it
 * runs in production) and the clients (`bench/support/live-clients.ts`: N ws or socket.io
 * clients subscribed to the same topics). CPU and RSS are read per process from /proc.
 *
 * 1. inject: BENCH_RATE key changes/s (default 5,000; BENCH_PER_MSG per LIVE message, default
 *    10, over BENCH_KEYS keys, default 2,000) published straight into LIVE as the relay writes
 *    them, to BENCH_CLIENTS clients (default 2,000) for BENCH_SECONDS (default 20).
 * 2. pipeline: the same clients, feed events published at BENCH_PIPELINE_RATE/s (default 2,500
 *    subscriber readings over 336 keys) → ingest → Postgres → relay → LIVE → gateway.
 * 3. socket.io: the same injected changes, coalesced on the same 100 ms tick into the same frame
 *    by a minimal socket.io 4 server (one room, broadcast), to the same number of clients; the
 *    ratios ws / socket.io.
 * 3b. bare: the same frames by a bare `ws` broadcast (no subscriptions, no slow-client handling):
 *    the ceiling of the socket work on this machine, and the ratio gateway / bare.
 * 4. slow: the inject part again with BENCH_SLOW (default 500) more clients that never read
 *    after their snapshot: how many are closed with 1013, and the gateway's RSS.
 * 5. scale: inject again with more clients (BENCH_SCALE, default 250,500,…,10000), until
 *    p99 passes 250 ms. BENCH_SCALE=0 skips it.
 * Before the gateway starts, BENCH_HISTORY_DAYS (default 31; 0 for a fresh start) days of
 * simulated history at the 130 communes are written to the database (bench/support/live-history.ts):
 * the gateway holds 31 days of day keys, today's gauges and 8,176 stations, as it does in the room.
 * Each scenario starts measuring once every client has its snapshot.
 * Latency is from a change's commit time (its `at`) to its receipt by a client, for every LIVE
 * message a received frame covers. Runs on the machine's Postgres and NATS (PULSE_TEST_PG_URL,
 * PULSE_TEST_NATS_URL) in a fresh database and fresh streams, removed afterwards.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { changeIdHeader, msgId, type LiveChange } from "@pulse/contracts";
import { loadConfig as loadIngestConfig, startIngest, type Ingest } from "@pulse/ingest";
import {
  allStreams,
  connectNats,
  DeliverPolicy,
  ensureStreams,
  headers,
  jetstream,
  jetstreamManager,
  testStreamNames,
  withPrefix,
  type ConsumerMessages,
} from "@pulse/nats";
import { createTestDatabase, freePort, sharedNatsUrl, uniqueTag } from "@pulse/testkit";
import { mergeReports, type ClientsReport } from "./support/live-clients-report";
import { procMeter } from "./support/live-proc";
import { bucketsOf, quantileOf, scrape } from "./support/soak-services";
import { seedHistory } from "./support/live-history";
import { createDb } from "@pulse/db";

const env = process.env;
const CLIENTS = Number(env.BENCH_CLIENTS ?? 2_000);
const RATE = Number(env.BENCH_RATE ?? 5_000);
const PER_MSG = Number(env.BENCH_PER_MSG ?? 10);
const KEYS = Number(env.BENCH_KEYS ?? 2_000);
const SECONDS = Number(env.BENCH_SECONDS ?? 20);
const PIPELINE_RATE = Number(env.BENCH_PIPELINE_RATE ?? 2_500);
const SCALE = (env.BENCH_SCALE ?? "250,500,1000,1500,2000,3000,4000,6000,8000,10000")
  .split(",")
  .map(Number)
  .filter((n) => n > 0);
const PARTS = new Set((env.BENCH_PARTS ?? "inject,pipeline,bare,socketio,slow,scale").split(","));
const SLOW = Number(env.BENCH_SLOW ?? 500);
/** Processes the clients are spread over (each one's CPU is reported in the sum). */
const CLIENT_PROCS = Number(env.BENCH_CLIENT_PROCS ?? 2);
const TOPICS = (env.BENCH_TOPICS ?? "subscribers,bts_stations,feed,kpi").split(",");
const HISTORY_DAYS = Number(env.BENCH_HISTORY_DAYS ?? 31);
const natsUrl = sharedNatsUrl();
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tag = uniqueTag("livebench");
const names = testStreamNames(tag);
const database = await createTestDatabase(tag);
const nc = await connectNats(natsUrl, "bench-live");
await ensureStreams(nc, { names });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);

const children: ChildProcess[] = [];
const spawnTs = (file: string, args: string[] = [], extraEnv: Record<string, string> = {}) => {
  const child = fork(file, args, {
    // BENCH_PROFILE=<dir>: a V8 CPU profile of every child process (gateway, clients, baselines).
    execArgv: ["--import", "tsx", ...(env.BENCH_PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${env.BENCH_PROFILE}`] : [])],
    env: { ...env, ...extraEnv },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  children.push(child);
  return child;
};
const message = <T>(child: ChildProcess, pred: (m: T) => boolean, timeoutMs = 120_000) =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("child did not answer")), timeoutMs);
    const on = (m: T) => {
      if (!pred(m)) return;
      clearTimeout(t);
      child.off("message", on);
      resolve(m);
    };
    child.on("message", on);
  });

// --- commit times of every LIVE sequence, for the clients ----------------------------------
const follower = await js.consumers.get(names.live, { deliver_policy: DeliverPolicy.New });
const followed: ConsumerMessages = await follower.consume({ max_messages: 2_000 });
let pairs: number[] = [];
let liveMessages = 0;
let liveEntries = 0;
let clientsChildren: ChildProcess[] = [];
void (async () => {
  for await (const m of followed) {
    const c = m.json<LiveChange>();
    pairs.push(m.seq, Date.parse(c.at));
    liveMessages++;
    liveEntries += c.entries.length;
  }
})();
const pairTimer = setInterval(() => {
  // Commit times only for the clients running now (older ones would be counted in their first frame).
  if (clientsChildren.length === 0) pairs = [];
  if (pairs.length === 0) return;
  for (const c of clientsChildren) c.send({ cmd: "at", pairs });
  pairs = [];
}, 20);

// --- load ------------------------------------------------------------------------------------
let changeId = 1_000_000_000;
let x = 7;
const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
/** Key changes straight into LIVE at `rate`/s for `seconds`, in 10 ms slots. */
async function inject(rate: number, seconds: number): Promise<number> {
  const msgsPerSlot = rate / PER_MSG / 100;
  let due = 0;
  let sent = 0;
  const t0 = performance.now();
  for (let slot = 0; performance.now() - t0 < seconds * 1000; slot++) {
    due += msgsPerSlot;
    const acks: Promise<unknown>[] = [];
    for (; due >= 1; due--) {
      const id = ++changeId;
      const change: LiveChange = {
        change_id: id,
        metric: "subscribers",
        at: new Date().toISOString(),
        entries: Array.from({ length: PER_MSG }, () => ({
          key: { source: "bench", service: "mobile", area: String(Math.floor(rand() * KEYS)) },
          value: Math.floor(rand() * 1e6),
        })),
      };
      const h = headers();
      h.set(changeIdHeader, String(id));
      acks.push(js.publish(withPrefix(names, "live.subscribers"), JSON.stringify(change), { msgID: String(id), headers: h }));
      sent += PER_MSG;
    }
    await Promise.all(acks);
    const wait = t0 + (slot + 1) * 10 - performance.now();
    if (wait > 0) await sleep(wait);
  }
  return sent;
}

const sources = ["viettel", "vinaphone", "mobifone", "vietnamobile"];
const services = ["mobile", "mobile_broadband", "fixed_broadband", "ftth"];
const districts = Array.from({ length: 21 }, (_, i) => String(412 + i));
let eventN = 0;
/** Subscriber readings through the real pipeline at `rate`/s. */
async function publishFeeds(rate: number, seconds: number): Promise<number> {
  let due = 0;
  let sent = 0;
  const t0 = performance.now();
  for (let slot = 0; performance.now() - t0 < seconds * 1000; slot++) {
    due += rate / 100;
    const acks: Promise<unknown>[] = [];
    for (; due >= 1; due--) {
      const source = sources[eventN % 4]!;
      const id = `r${eventN++}`;
      const ts = new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 23) + "+07:00";
      const body = JSON.stringify({
        v: 1,
        id,
        source,
        ts,
        area: districts[Math.floor(rand() * 21)],
        data: { service: services[Math.floor(rand() * 4)], count: Math.floor(rand() * 1e6) },
      });
      const h = headers();
      h.set("Nats-Msg-Id", msgId(source, id));
      acks.push(js.publish(withPrefix(names, `feeds.subscribers.${source}`), body, { headers: h }));
      sent++;
    }
    await Promise.all(acks);
    const wait = t0 + (slot + 1) * 10 - performance.now();
    if (wait > 0) await sleep(wait);
  }
  return sent;
}

// --- servers ---------------------------------------------------------------------------------
async function startGateway(): Promise<{ child: ChildProcess; port: number; adminPort: number }> {
  const port = await freePort();
  const adminPort = await freePort();
  const child = spawnTs(here("../services/live/src/main.ts"), [], {
    DATABASE_URL: database.url,
    NATS_URL: natsUrl,
    PULSE_NAMESPACE: tag,
    LIVE_PORT: String(port),
    LIVE_ADMIN_PORT: String(adminPort),
    LIVE_HOST: "127.0.0.1",
    LOG_LEVEL: "error",
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return { child, port, adminPort };
    } catch {
      /* not yet */
    }
    await sleep(100);
  }
  throw new Error("the gateway did not come up");
}

async function startBaseline(kind: "sio" | "ws"): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawnTs(here("./support/live-baseline-server.ts"), [kind, String(port), names.live, natsUrl]);
  await message<{ ok?: string }>(child, (m) => m.ok === "ready");
  return { child, port };
}

// --- one scenario ----------------------------------------------------------------------------
interface Row {
  name: string;
  clients: number;
  changesPerS: number;
  framesPerS: number;
  /** Key changes handed to clients per second: LIVE messages each frame covered × entries per message. */
  changeDeliveriesPerS: number;
  mbPerS: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 from commit to the gateway's tick that hands the change to sockets (its lag histogram). */
  tickP99: number;
  serverCpu: number;
  serverRss: number;
  clientsCpu: number;
  benchCpu: number;
}

async function scenario(
  name: string,
  kind: "ws" | "sio",
  url: string,
  n: number,
  server: ChildProcess,
  load: () => Promise<number>,
  slowClients = 0,
  adminPort = 0,
): Promise<Row> {
  // Clients that never read, in a process of their own (their sockets are paused after the snapshot).
  let slow: ChildProcess | null = null;
  if (slowClients > 0) {
    slow = spawnTs(here("./support/live-clients.ts"));
    await message<{ ok?: string }>(slow, (m) => m.ok === "ready");
    slow.send({ cmd: "start", kind, url, n: slowClients, topics: TOPICS, paused: true });
    await message<{ ok?: string }>(slow, (m) => m.ok === "started", 300_000);
  }
  const procs = Math.max(1, Math.min(CLIENT_PROCS, n));
  const kids = Array.from({ length: procs }, () => spawnTs(here("./support/live-clients.ts")));
  await Promise.all(kids.map((k) => message<{ ok?: string }>(k, (m) => m.ok === "ready")));
  clientsChildren = kids;
  kids.forEach((k, i) => k.send({ cmd: "start", kind, url, n: Math.floor(n / procs) + (i < n % procs ? 1 : 0), topics: TOPICS }));
  const tSnap = performance.now();
  const starts = await Promise.all(kids.map((k) => message<{ ok?: string; connected: number }>(k, (m) => m.ok === "started", 300_000)));
  const connected = starts.reduce((a, x) => a + x.connected, 0);
  console.log(`  ${connected} clients connected and holding their snapshot in ${((performance.now() - tSnap) / 1000).toFixed(1)} s`);
  await sleep(1_500); // the last snapshots' tail
  for (const k of kids) k.send({ cmd: "reset" });
  const entries0 = liveEntries;
  const messages0 = liveMessages;
  const serverMeter = procMeter(server.pid!);
  const clientsMeters = kids.map((k) => procMeter(k.pid!));
  const bench0 = process.cpuUsage();
  const lag0 = adminPort ? bucketsOf(await scrape(adminPort), "pulse_live_lag_seconds") : null;
  const t0 = performance.now();
  await load();
  await sleep(500); // the last tick's frames
  const seconds = (performance.now() - t0) / 1000;
  const s = serverMeter();
  const clientsCpu = clientsMeters.reduce((a, m) => a + m().cpuShare, 0);
  const b = process.cpuUsage(bench0);
  const tickP99 = lag0 ? quantileOf(bucketsOf(await scrape(adminPort), "pulse_live_lag_seconds"), lag0, 0.99) * 1000 : NaN;
  const reports = await Promise.all(
    kids.map((k) => {
      const got = message<{ report: ClientsReport }>(k, (m) => "report" in m);
      k.send({ cmd: "report" });
      return got.then((m) => m.report);
    }),
  );
  const r = mergeReports(reports);
  for (const k of kids) k.send({ cmd: "close" });
  await Promise.all(kids.map((k) => new Promise((res) => k.once("exit", res))));
  slow?.send({ cmd: "close" });
  if (slow) await new Promise((res) => slow!.once("exit", res));
  clientsChildren = [];
  const row: Row = {
    name,
    clients: connected,
    changesPerS: (liveEntries - entries0) / seconds,
    framesPerS: r.frames / r.seconds,
    changeDeliveriesPerS: (r.samples * ((liveEntries - entries0) / Math.max(1, liveMessages - messages0))) / r.seconds,
    mbPerS: r.bytes / r.seconds / 1048576,
    p50: r.p50,
    p99: r.p99,
    max: r.max,
    tickP99,
    serverCpu: s.cpuShare,
    serverRss: s.maxRssMiB,
    clientsCpu,
    benchCpu: (b.user + b.system) / 1e6 / seconds,
  };
  print(row, r.open);
  return row;
}

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");
const pct = (n: number) => `${Math.round(n * 100)}%`;
function print(r: Row, open: number): void {
  console.log(
    `${r.name.padEnd(22)} clients ${f0(r.clients).padStart(6)} (open ${f0(open)})  changes/s ${f0(r.changesPerS).padStart(6)}  ` +
      `frames/s ${f0(r.framesPerS).padStart(6)}  changes delivered/s ${f0(r.changeDeliveriesPerS).padStart(9)}  ${r.mbPerS.toFixed(0).padStart(4)} MB/s  ` +
      `p50 ${f0(r.p50)} ms  p99 ${f0(r.p99)} ms  max ${f0(r.max)} ms  ` +
      (Number.isFinite(r.tickP99) ? `(commit → gateway tick p99 ${f0(r.tickP99)} ms)  ` : "") +
      `server CPU ${pct(r.serverCpu)} RSS ${f0(r.serverRss)} MiB  clients CPU ${pct(r.clientsCpu)}  bench CPU ${pct(r.benchCpu)}`,
  );
}

// --- the run ---------------------------------------------------------------------------------
let ingest: Ingest | null = null;
try {
  console.log(
    `live bench: ${CLIENTS} clients, ${RATE} key changes/s (${PER_MSG} per LIVE message, ${KEYS} keys), ${SECONDS} s per part; topics ${TOPICS.join(", ")}`,
  );
  if (HISTORY_DAYS > 0) {
    const hdb = createDb({ url: database.url, poolMax: 1 });
    const t = performance.now();
    const c = await seedHistory(hdb, { days: HISTORY_DAYS });
    await hdb.close();
    console.log(
      `history: ${HISTORY_DAYS} days at 130 communes (${c.gauges} gauges, ${c.stations} stations, ${c.esignDayKeys + c.egovDayKeys} day keys) in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  } else console.log("history: none (a fresh start)");
  const gw = await startGateway();
  await sleep(1_000);
  console.log(`gateway idle: RSS ${f0(procMeter(gw.child.pid!)().rssMiB)} MiB (node + tsx + the state)`);
  const wsUrl = `ws://127.0.0.1:${gw.port}/live`;
  let wsRow: Row | null = null;
  if (PARTS.has("inject"))
    wsRow = await scenario("ws gateway, inject", "ws", wsUrl, CLIENTS, gw.child, () => inject(RATE, SECONDS), 0, gw.adminPort);
  if (PARTS.has("pipeline")) {
    ingest = await startIngest(
      loadIngestConfig({ DATABASE_URL: database.url, NATS_URL: natsUrl, PULSE_NAMESPACE: tag, INGEST_PORT: "0", LOG_LEVEL: "error" }),
    );
    await scenario("ws gateway, pipeline", "ws", wsUrl, CLIENTS, gw.child, () => publishFeeds(PIPELINE_RATE, SECONDS), 0, gw.adminPort);
    await ingest.close();
    ingest = null;
  }
  if (PARTS.has("bare")) {
    const bare = await startBaseline("ws");
    const bareRow = await scenario("bare ws broadcast", "ws", `ws://127.0.0.1:${bare.port}/live`, CLIENTS, bare.child, () =>
      inject(RATE, SECONDS),
    );
    bare.child.kill("SIGTERM");
    if (wsRow) {
      console.log(
        `ratio gateway / bare ws broadcast (the ceiling): changes delivered/s ${(wsRow.changeDeliveriesPerS / bareRow.changeDeliveriesPerS).toFixed(2)}×, ` +
          `p99 ${(wsRow.p99 / bareRow.p99).toFixed(2)}× (lower is better), server CPU ${(wsRow.serverCpu / bareRow.serverCpu).toFixed(2)}×`,
      );
    }
  }
  if (PARTS.has("socketio")) {
    const sio = await startBaseline("sio");
    const sioRow = await scenario("socket.io, inject", "sio", `http://127.0.0.1:${sio.port}`, CLIENTS, sio.child, () =>
      inject(RATE, SECONDS),
    );
    sio.child.kill("SIGTERM");
    if (wsRow) {
      console.log(
        `ratio ws / socket.io: changes delivered/s ${(wsRow.changeDeliveriesPerS / sioRow.changeDeliveriesPerS).toFixed(2)}×, ` +
          `frames/s ${(wsRow.framesPerS / sioRow.framesPerS).toFixed(2)}×, p99 ${(wsRow.p99 / sioRow.p99).toFixed(2)}× ` +
          `(lower is better), server CPU ${(wsRow.serverCpu / sioRow.serverCpu).toFixed(2)}×`,
      );
    }
  }
  if (PARTS.has("slow")) {
    // Memory whatever clients do: the same load with BENCH_SLOW more clients that never read.
    const metric = async (name: string) => {
      const text = await (await fetch(`http://127.0.0.1:${gw.adminPort}/metrics`)).text();
      return Number(
        text
          .split("\n")
          .find((l) => l.startsWith(name + " "))
          ?.split(" ")[1] ?? NaN,
      );
    };
    const closes0 = await metric("pulse_live_slow_closes_total");
    const row = await scenario(
      `ws, +${SLOW} never reading`,
      "ws",
      wsUrl,
      CLIENTS,
      gw.child,
      () => inject(RATE, SECONDS),
      SLOW,
      gw.adminPort,
    );
    console.log(
      `  never-reading clients closed with 1013: ${(await metric("pulse_live_slow_closes_total")) - closes0} of ${SLOW}; gateway max RSS ${f0(row.serverRss)} MiB`,
    );
  }
  if (PARTS.has("scale")) {
    for (const n of SCALE) {
      const row = await scenario(`ws gateway, scale`, "ws", wsUrl, n, gw.child, () => inject(RATE, Math.min(SECONDS, 15)), 0, gw.adminPort);
      if (!(row.p99 <= 250) || row.clients < n) {
        // The last step under it is the answer.
        console.log(`p99 passed 250 ms (or clients could not connect) at ${n} clients`);
        break;
      }
    }
  }
} finally {
  clearInterval(pairTimer);
  await ingest?.close().catch(() => {});
  for (const c of children) c.kill("SIGTERM");
  await followed.close().catch(() => {});
  for (const s of allStreams(names)) await jsm.streams.delete(s).catch(() => {});
  await nc.close();
  await database.drop();
}
