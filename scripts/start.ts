/**
 * `pnpm start`: the whole of Pulse on one machine, in one process.
 *
 * - No DATABASE_URL: the embedded Postgres under `<PULSE_DATA_DIR>/pg` (PGlite; one session, so
 *   every service here shares one pool of one). With DATABASE_URL, each service opens its own pool.
 * - No NATS answering at NATS_URL (default nats://127.0.0.1:4222): a local nats-server with
 *   JetStream, its store under `<PULSE_DATA_DIR>/nats`, stopped with us.
 * - Migrations (by ingest), ingest, the exporter, the live gateway with the wall screen, and the
 *   simulator — by default only on our own embedded Postgres and our own nats-server
 *   (PULSE_SIMULATE=1|0 overrides; the log says which and why).
 * Every port comes from the environment (NATS_URL, EMBEDDED_PG_PORT, INGEST_PORT, METRICS_PORT,
 * LIVE_PORT, LIVE_ADMIN_PORT, FEEDS_HTTP_PORT, FEEDS_HTTP_ADMIN_PORT). First SIGINT/SIGTERM stops everything within 20 s; a second exits.
 */
import { ConfigError, createLogger, onShutdown } from "@pulse/config";
import { createDb, startEmbeddedPostgres, type Db, type EmbeddedPostgres } from "@pulse/db";
import { redactNatsUrl } from "@pulse/nats";
import { loadConfig as loadExporterConfig, startExporter, type Exporter } from "@pulse/exporter";
import { loadConfig as loadIngestConfig, startIngest, type Ingest } from "@pulse/ingest";
import { loadConfig as loadLiveConfig, startLive, type Live } from "@pulse/live";
import { loadConfig as loadSimulatorConfig, startSimulator, type Simulator } from "@pulse/simulator";
// feeds-http (the HTTPS door for producers): its own block below, kept apart for easy merges.
import { loadConfig as loadFeedsHttpConfig, startFeedsHttp, type FeedsHttp } from "@pulse/feeds-http";
import { findNatsServer, reachable, startLocalNats, type LocalNats } from "./local-nats";
import { loadStartConfig, simulatorDecision } from "./start-config";

const log = createLogger("pulse");
const startedAt = Date.now();
const steps = 7;
let stepNo = 0;
/** One progress line per step, with how long it took: what a person watches while it starts. */
async function step<T>(name: string, run: () => Promise<T>, done: (v: T) => string): Promise<T> {
  stepNo++;
  const t = Date.now();
  process.stderr.write(`  [${stepNo}/${steps}] ${name.padEnd(16)} …\n`);
  const v = await run();
  process.stderr.write(`  [${stepNo}/${steps}] ${name.padEnd(16)} ${done(v)} (${((Date.now() - t) / 1000).toFixed(1)} s)\n`);
  return v;
}

let configs;
try {
  const start = loadStartConfig(process.env);
  const ingest = loadIngestConfig(process.env);
  configs = { start, ingest, simulator: loadSimulatorConfig(process.env, { names: ingest.names, natsUrl: ingest.natsUrl }) };
} catch (err) {
  if (err instanceof ConfigError) {
    log.error(`bad configuration: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
const { start: startConfig, ingest: ingestConfig } = configs;

let nats: LocalNats | null = null;
let embedded: EmbeddedPostgres | null = null;
let shared: Db | null = null;
let ingest: Ingest | null = null;
let exporter: Exporter | null = null;
let live: Live | null = null;
let simulator: Simulator | null = null;
let feedsHttp: FeedsHttp | null = null;

const bounded = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<void>((r) => setTimeout(r, ms).unref())]);
const close = async () => {
  // Producers first, then readers, then the stores: nothing is lost or left half-applied.
  if (simulator) await bounded(simulator.close(), 5_000).catch(() => {});
  if (feedsHttp) await bounded(feedsHttp.close(), 5_000).catch(() => {});
  await live?.close().catch((e) => log.warn("live close", { error: String(e) }));
  await exporter?.close().catch((e) => log.warn("exporter close", { error: String(e) }));
  await ingest?.close().catch((e) => log.warn("ingest close", { error: String(e) }));
  await shared?.close().catch(() => {});
  await embedded?.close().catch(() => {});
  await nats?.stop();
  log.info("stopped");
};
onShutdown(close, { log, timeoutMs: 20_000 });

try {
  process.stderr.write(`Pulse: starting (data in ${ingestConfig.dataDir})\n`);
  await step(
    "NATS",
    async () => {
      if (await reachable(ingestConfig.natsUrl)) return "existing";
      const bin = findNatsServer(startConfig.natsServerBin);
      if (!bin) {
        throw new Error(
          `no NATS server answers at ${redactNatsUrl(ingestConfig.natsUrl)} and nats-server is not installed.\n` +
            `  Install it:  sudo apt-get install nats-server   (or: go install github.com/nats-io/nats-server/v2@latest)\n` +
            `  or point NATS_URL at a running server with JetStream.`,
        );
      }
      nats = await startLocalNats(ingestConfig.natsUrl, `${ingestConfig.dataDir}/nats`, bin);
      return "local";
    },
    (v) =>
      v === "local"
        ? `local nats-server pid ${nats!.pid} on ${redactNatsUrl(ingestConfig.natsUrl)}, store ${ingestConfig.dataDir}/nats`
        : `using ${redactNatsUrl(ingestConfig.natsUrl)}`,
  );
  const databaseUrl = await step(
    "Postgres",
    async () => {
      if (ingestConfig.databaseUrl) return ingestConfig.databaseUrl;
      embedded = await startEmbeddedPostgres({ dataDir: `${ingestConfig.dataDir}/pg`, port: startConfig.embeddedPgPort });
      shared = createDb({ url: embedded.url, poolMax: 1, applicationName: "pulse" });
      return embedded.url;
    },
    (url) => (embedded ? `embedded (PGlite) ${url}, data ${embedded.dataDir}` : `DATABASE_URL ${new URL(url).host}`),
  );
  const db = shared ?? undefined;
  ingest = await step(
    "migrations+ingest",
    () => startIngest(ingestConfig, { db, databaseUrl, log: log.child("ingest") }),
    (i) => `ingest on :${i.port}`,
  );
  exporter = await step(
    "exporter",
    () => startExporter(loadExporterConfig(process.env, { databaseUrl, names: ingestConfig.names }), { db, log: log.child("exporter") }),
    (e) => `/metrics on :${e.port}`,
  );
  live = await step(
    "live gateway",
    () => startLive(loadLiveConfig(process.env, { databaseUrl, names: ingestConfig.names }), { db, log: log.child("live") }),
    (l) => `wall and /live on :${l.port}, admin :${l.adminPort}`,
  );
  const decision = simulatorDecision(startConfig.simulate, embedded !== null, nats !== null);
  log.info(`simulator ${decision.on ? "ON" : "OFF"}: ${decision.why}`);
  await step(
    "simulator",
    async () => {
      if (!decision.on) return null;
      simulator = await startSimulator(configs.simulator, { log: log.child("simulator") });
      return simulator;
    },
    (s) =>
      s
        ? `on (${decision.why}); rate ${configs.simulator.rate}, seed ${configs.simulator.seed}, ${s.stats().fresh ? "fresh: backfilling today" : "resuming today"}`
        : `off (${decision.why})`,
  );
  // --- feeds-http: the HTTPS door (POST /v1/feeds/{feed}) ---
  const feedsHttpConfig = loadFeedsHttpConfig(process.env, { databaseUrl, names: ingestConfig.names, natsUrl: ingestConfig.natsUrl });
  feedsHttp = await step(
    "feeds-http",
    () => startFeedsHttp(feedsHttpConfig, { db, log: log.child("feeds-http") }),
    (f) => `${f.scheme} on :${f.port}, admin :${f.adminPort}`,
  );
  const feedsHttpLine = `  Feeds door    ${feedsHttp.scheme}://${startConfig.publicHost}:${feedsHttp.port}/v1/feeds/{feed}   ${
    feedsHttp.tokens > 0
      ? `${feedsHttp.tokens} token(s)`
      : feedsHttpConfig.tokensFile
        ? "no token in FEEDS_HTTP_TOKENS_FILE yet: refuses every request"
        : "no FEEDS_HTTP_TOKENS_FILE: refuses every request (pnpm pulse token new --source <id>)"
  }${feedsHttp.scheme === "http" ? "; plain HTTP: put TLS in front" : ""}`;
  // --- end feeds-http ---
  const h = startConfig.publicHost;
  process.stdout.write(
    [
      "",
      `Pulse is running (started in ${((Date.now() - startedAt) / 1000).toFixed(1)} s)`,
      `  Wall screen   http://${h}:${live.port}/`,
      `  Live socket   ws://${h}:${live.port}/live`,
      `  Metrics       http://${h}:${exporter.port}/metrics   (ingest :${ingest.port}/metrics, gateway :${live.adminPort}/metrics)`,
      `  Health        http://${h}:${ingest.port}/healthz   http://${h}:${live.port}/healthz   http://${h}:${exporter.port}/healthz`,
      feedsHttpLine,
      `  Simulator     ${decision.on ? "on" : "off"}: ${decision.why}`,
      `  Data          ${ingestConfig.dataDir} (a second start reuses it)`,
      "  Ctrl-C stops everything.",
      "",
    ].join("\n") + "\n",
  );
} catch (err) {
  log.error(`start failed: ${(err as Error).message}`);
  await close().catch(() => {});
  process.exit(1);
}
