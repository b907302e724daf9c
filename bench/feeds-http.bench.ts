/**
 * `pnpm bench:feeds-http` — not a test: prints figures measured in this one run, ingest running
 * throughout (in this process, on a fresh database and fresh streams), the door in a child
 * process of its own (`node services/feeds-http/dist/main.mjs`, so its RSS is its own).
 *
 * 1. Throughput: BENCH_LINES e-gov records (default 40,000) POSTed as NDJSON, 1,000 lines a POST,
 *    BENCH_CONCURRENCY POSTs at once (default 8), every line settled by ingest; against `pulse
 *    publish` of the same number of records (fresh ids) in the same run (target ≥ 0.8×).
 * 2. Latency: 1-line POSTs at BENCH_RPS requests/s (default 100) for BENCH_SECONDS (default 10),
 *    each timed to its answer (its line's verdict): p50, p99 (target p99 < 250 ms).
 * 3. Memory: BENCH_UPLOADS concurrent uploads (default 50) of BENCH_UPLOAD_MIB MiB each (default
 *    8) of real records, streamed; the door's peak RSS (VmHWM) and RSS while they run (target < 300 MB).
 * BENCH_PARTS=throughput,latency,memory picks parts; BENCH_DOOR_HEAP_MB caps the door's V8 heap;
 * BENCH_DOOR_NODE_ARGS adds node flags to the door (`--cpu-prof --cpu-prof-dir=DIR` to profile it).
 * The door runs as `pnpm feeds-http` runs it: built (`pnpm build:feeds-http`) and started by plain
 * node; BENCH_DOOR_TSX=1 runs it from source through tsx instead.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough } from "node:stream";
import { newBearerToken, tokenFileLine } from "@pulse/config";
import { runCli } from "@pulse/cli";
import { loadConfig, startIngest } from "@pulse/ingest";
import { createDb } from "@pulse/db";
import { allStreams, connectNats, ensureStreams, jetstreamManager, testStreamNames } from "@pulse/nats";
import { sources } from "@pulse/seeds";
import { createTestDatabase, freePort, sharedNatsUrl, uniqueTag } from "@pulse/testkit";

const LINES = Number(process.env.BENCH_LINES ?? 40_000);
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 8);
const RPS = Number(process.env.BENCH_RPS ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 50);
const UPLOAD_MIB = Number(process.env.BENCH_UPLOAD_MIB ?? 8);
// BENCH_MEMORY_SECONDS: the uploaders stop sending (and end their bodies) after this long, so a
// loaded machine still gives a bounded run; the figure says how much was sent.
const MEMORY_MS = Number(process.env.BENCH_MEMORY_SECONDS ?? Infinity) * 1000;
const parts = new Set((process.env.BENCH_PARTS ?? "throughput,latency,memory").split(","));
const root = resolve(import.meta.dirname, "..");
const natsUrl = sharedNatsUrl();

const egov = (id: string) =>
  JSON.stringify({
    v: 1,
    id,
    source: "dvc",
    ts: new Date(Date.now() - 60_000).toISOString(),
    area: "16681",
    data: { procedure: "1.004227", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received" },
  });

function post(
  port: number,
  feed: string,
  token: string,
  body: Buffer | PassThrough,
): Promise<{ status: number; json: { accepted: number; duplicate: number; refused: number; unsettled: number; not_sent: number } }> {
  return new Promise((resolveP, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: `/v1/feeds/${feed}`,
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/x-ndjson",
          ...(Buffer.isBuffer(body) ? { "content-length": String(body.length) } : { "transfer-encoding": "chunked" }),
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (b: Buffer) => parts.push(b));
        res.on("end", () => {
          try {
            resolveP({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString()) });
          } catch (err) {
            reject(err);
          }
        });
      },
    );
    req.on("error", reject);
    if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
/** The door's own view of its memory (prom-client's default metrics on its admin port), in MB. */
const doorHeap = (admin: number): Promise<Record<string, number>> =>
  new Promise((resolveP) => {
    const req = request({ host: "127.0.0.1", port: admin, path: "/metrics" }, (res) => {
      let text = "";
      res.on("data", (b: Buffer) => (text += b.toString()));
      res.on("end", () => {
        const out: Record<string, number> = {};
        for (const k of ["heap_size_used_bytes", "heap_size_total_bytes", "external_memory_bytes"]) {
          const m = new RegExp(`^pulse_feeds_http_nodejs_${k} (\\S+)`, "m").exec(text);
          if (m) out[k.replace("_bytes", "")] = Number(m[1]) / 1048576;
        }
        resolveP(out);
      });
    });
    req.on("error", () => resolveP({}));
    req.end();
  });
const rss = (pid: number) => {
  const st = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)![1]) / 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
};

const tag = uniqueTag("bench_fh");
const names = testStreamNames(tag);
const database = await createTestDatabase(tag);
const nc = await connectNats(natsUrl, "bench-feeds-http");
await ensureStreams(nc, { names });
const ingestConfig = loadConfig({ DATABASE_URL: database.url, INGEST_PORT: "0", LOG_LEVEL: "error", NATS_URL: natsUrl }, { names });
const ingest = await startIngest(ingestConfig);
const db = createDb({ url: database.url, poolMax: 1 });

const dir = mkdtempSync(join(tmpdir(), "pulse-bench-fh-"));
const tokens = Object.fromEntries(sources.map((s) => [s.id, newBearerToken()]));
writeFileSync(
  join(dir, "tokens"),
  Object.entries(tokens)
    .map(([s, t]) => tokenFileLine(s, t))
    .join("\n") + "\n",
);
const port = await freePort();
const adminPort = await freePort();
// BENCH_DOOR_HEAP_MB caps the door's V8 old space (--max-old-space-size), as a deployment would.
const heap = process.env.BENCH_DOOR_HEAP_MB ? [`--max-old-space-size=${process.env.BENCH_DOOR_HEAP_MB}`] : [];
// BENCH_DOOR_NODE_ARGS: more flags for the door's node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
heap.push(...(process.env.BENCH_DOOR_NODE_ARGS ?? "").split(" ").filter(Boolean));
const fromSource = process.env.BENCH_DOOR_TSX === "1";
if (!fromSource) execFileSync(process.execPath, ["--import", "tsx", "scripts/build-feeds-http.ts"], { cwd: root, stdio: "inherit" });
const entry = fromSource ? ["--import", "tsx", "services/feeds-http/src/main.ts"] : ["services/feeds-http/dist/main.mjs"];
const door: ChildProcess = spawn(process.execPath, [...heap, ...entry], {
  cwd: root,
  stdio: ["ignore", "inherit", "inherit"],
  env: {
    PATH: process.env.PATH,
    NATS_URL: natsUrl,
    DATABASE_URL: database.url,
    PULSE_NAMESPACE: names.namespace!,
    FEEDS_HTTP_PORT: String(port),
    FEEDS_HTTP_ADMIN_PORT: String(adminPort),
    FEEDS_HTTP_HOST: "127.0.0.1",
    FEEDS_HTTP_TOKENS_FILE: join(dir, "tokens"),
    FEEDS_HTTP_RATE: "10000000",
    FEEDS_HTTP_SETTLE_MS: "120000",
    EXPORTER_BEHIND_PENDING: "100000000",
    LOG_LEVEL: "warn",
  },
});
for (const until = Date.now() + 30_000; ;) {
  const up = await post(port, "egov", "x", Buffer.from("")).then(
    (r) => r.status === 401,
    () => false,
  );
  if (up) break;
  if (Date.now() > until) throw new Error("the door did not start");
  await new Promise((r) => setTimeout(r, 200));
}

try {
  if (parts.has("throughput")) {
    // The door: 1,000 lines a POST, CONC at once.
    const bodies = Array.from({ length: Math.ceil(LINES / 1000) }, (_, b) =>
      Buffer.from(Array.from({ length: 1000 }, (_, i) => egov(`tp-door-${b * 1000 + i}`)).join("\n") + "\n"),
    );
    const t0 = performance.now();
    let next = 0;
    let settled = 0;
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (next < bodies.length) {
          const r = await post(port, "egov", tokens.dvc!, bodies[next++]!);
          if (r.status !== 200) throw new Error(`POST answered ${r.status}`);
          settled += r.json.accepted + r.json.duplicate + r.json.refused;
        }
      }),
    );
    const doorS = (performance.now() - t0) / 1000;
    // pulse publish: the same number of records, fresh ids, one file.
    const file = join(dir, "publish.ndjson");
    writeFileSync(file, Array.from({ length: LINES }, (_, i) => egov(`tp-cli-${i}`)).join("\n") + "\n");
    const out: string[] = [];
    const io = {
      stdout: { write: (s: string) => void out.push(s), isTTY: false },
      stderr: { write: () => true, isTTY: false },
      stdin: process.stdin,
      env: { NATS_URL: natsUrl, DATABASE_URL: database.url, PULSE_NAMESPACE: names.namespace!, LOG_LEVEL: "error" },
    };
    const t1 = performance.now();
    const code = await runCli(["publish", file, "--feed", "egov", "--source", "dvc", "--json", "--timeout", "120"], io as never);
    const cliS = (performance.now() - t1) / 1000;
    const cli = JSON.parse(out.join(""));
    const cliSettled = (cli.summary?.ok ?? 0) + (cli.summary?.duplicate ?? 0) + (cli.summary?.refused ?? 0);
    const doorRate = settled / doorS;
    const cliRate = cliSettled / cliS;
    console.log(
      `throughput: door ${Math.round(doorRate)} lines/s (${settled} settled in ${doorS.toFixed(2)} s, ${CONC} POSTs of 1,000 at once); ` +
        `pulse publish ${Math.round(cliRate)} lines/s (${cliSettled} in ${cliS.toFixed(2)} s, exit ${code}); ratio ${(doorRate / cliRate).toFixed(2)} (target ≥ 0.8)`,
    );
  }

  if (parts.has("latency")) {
    const times: number[] = [];
    const statuses = new Map<number, number>();
    const total = RPS * SECONDS;
    const t0 = performance.now();
    const all: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const at = t0 + (i * 1000) / RPS;
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const s = performance.now();
      all.push(
        post(port, "egov", tokens.dvc!, Buffer.from(egov(`lat-${i}`))).then((r) => {
          times.push(performance.now() - s);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        }),
      );
    }
    await Promise.all(all);
    console.log(
      `latency: ${total} 1-line POSTs at ${RPS}/s: p50 ${pct(times, 50).toFixed(1)} ms, p99 ${pct(times, 99).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms ` +
        `(target p99 < 250 ms); statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
  }

  if (parts.has("memory")) {
    const before = rss(door.pid!);
    const perUpload = UPLOAD_MIB * 1024 * 1024;
    let peak = before.rss;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(door.pid!).rss)), 100);
    // Heap used / total and external (Buffers, typed arrays) as the door reports them, every second.
    const heapPeak: Record<string, number> = {};
    const heapSampler = setInterval(
      () =>
        void doorHeap(adminPort).then((h) => {
          for (const [k, v] of Object.entries(h)) heapPeak[k] = Math.max(heapPeak[k] ?? 0, v);
        }),
      1_000,
    );
    const srcs = sources.filter((s) => s.feeds.subscribers);
    const t0 = performance.now();
    let sentAll = 0;
    const results = await Promise.all(
      Array.from({ length: UPLOADS }, async (_, u) => {
        const s = srcs[u % srcs.length]!;
        const body = new PassThrough();
        const p = post(port, "subscribers", tokens[s.id]!, body);
        // Stream it as a client would, honouring backpressure.
        let sent = 0;
        let i = 0;
        while (sent < perUpload && performance.now() - t0 < MEMORY_MS) {
          const chunk = Buffer.from(
            Array.from({ length: 200 }, () =>
              JSON.stringify({
                v: 1,
                id: `mem-${u}-${i++}`,
                source: s.id,
                ts: new Date(Date.now() - 60_000).toISOString(),
                area: "16681",
                data: { service: "mobile", count: i },
              }),
            ).join("\n") + "\n",
          );
          // Up to the size, never past it: past FEEDS_HTTP_MAX_BYTES (8 MiB) the door answers 413.
          if (sent + chunk.length > perUpload) break;
          sent += chunk.length;
          if (!body.write(chunk)) await new Promise((r) => body.once("drain", r));
        }
        sentAll += sent;
        body.end();
        return p;
      }),
    );
    clearInterval(sampler);
    clearInterval(heapSampler);
    const s = performance.now() - t0;
    const after = rss(door.pid!);
    const lines = results.reduce((n, r) => n + r.json.accepted + r.json.duplicate + r.json.refused + r.json.unsettled + r.json.not_sent, 0);
    console.log(
      `memory: ${UPLOADS} concurrent uploads of ${UPLOAD_MIB} MiB (${(sentAll / 1048576).toFixed(0)} MiB sent in all, ${lines} lines, ${(s / 1000).toFixed(1)} s; statuses ${[...new Set(results.map((r) => r.status))].join(",")}): ` +
        `door RSS ${before.rss.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB sampled, VmHWM ${after.hwm.toFixed(0)} MB (target < 300 MB); ` +
        `peaks of the door's heap used ${heapPeak.heap_size_used?.toFixed(0)} MB, heap total ${heapPeak.heap_size_total?.toFixed(0)} MB, external ${heapPeak.external_memory?.toFixed(0)} MB`,
    );
  }
} finally {
  door.kill("SIGTERM");
  await new Promise((r) => door.once("exit", r));
  await ingest.close();
  const jsm = await jetstreamManager(nc);
  for (const s of allStreams(names)) await jsm.streams.delete(s).catch(() => {});
  await nc.close();
  await db.close();
  await database.drop();
}
