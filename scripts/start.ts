/**
 * `pnpm start`: the whole of Pulse on one machine, in one process.
 *
 * - No DATABASE_URL: the embedded Postgres under `.data/pg` (PGlite; one session, so every
 *   service here shares one pool of one). With DATABASE_URL, each service opens its own pool.
 * - No NATS answering at NATS_URL (default nats://127.0.0.1:4222): a local nats-server with
 *   JetStream, its store under `.data/nats`, stopped with us.
 * First SIGINT/SIGTERM drains everything within 15 s; a second one exits at once.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { ConfigError, createLogger, onShutdown } from "@pulse/config";
import { createDb, startEmbeddedPostgres, type Db, type EmbeddedPostgres } from "@pulse/db";
import { loadConfig as loadExporterConfig, startExporter, type Exporter } from "@pulse/exporter";
import { loadConfig as loadIngestConfig, startIngest, type Ingest } from "@pulse/ingest";

const log = createLogger("pulse");

async function reachable(url: string): Promise<boolean> {
  const u = new URL(url.split(",")[0]!);
  return new Promise((resolve) => {
    const s = tcpConnect({ host: u.hostname, port: Number(u.port || 4222) });
    s.setTimeout(1_000);
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.once("timeout", () => (s.destroy(), resolve(false)));
  });
}

async function startLocalNats(url: string, dir: string): Promise<ChildProcess> {
  const bin = ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].find((p) => existsSync(p));
  if (!bin) {
    throw new Error(`no NATS server answers at ${url} and nats-server is not installed: apt-get install nats-server (or set NATS_URL)`);
  }
  const u = new URL(url);
  mkdirSync(dir, { recursive: true });
  const child = spawn(bin, ["-js", "-a", u.hostname, "-p", u.port || "4222", "-sd", dir], { stdio: "ignore" });
  for (let i = 0; i < 100 && !(await reachable(url)); i++) await new Promise((r) => setTimeout(r, 100));
  log.info("started a local nats-server with JetStream", { url, store: dir, pid: child.pid });
  return child;
}

let ingestConfig;
try {
  ingestConfig = loadIngestConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    log.error(`bad configuration: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

let natsChild: ChildProcess | null = null;
let embedded: EmbeddedPostgres | null = null;
let shared: Db | null = null;
let ingest: Ingest | null = null;
let exporter: Exporter | null = null;

const close = async () => {
  await exporter?.close();
  await ingest?.close();
  await shared?.close();
  await embedded?.close();
  natsChild?.kill("SIGTERM");
};

try {
  if (!(await reachable(ingestConfig.natsUrl))) natsChild = await startLocalNats(ingestConfig.natsUrl, `${ingestConfig.dataDir}/nats`);
  let databaseUrl = ingestConfig.databaseUrl;
  if (!databaseUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: `${ingestConfig.dataDir}/pg`, port: Number(process.env.EMBEDDED_PG_PORT ?? 54329) });
    databaseUrl = embedded.url;
    shared = createDb({ url: databaseUrl, poolMax: 1, applicationName: "pulse" });
    log.info("no DATABASE_URL: using the embedded Postgres", { url: databaseUrl, dir: embedded.dataDir });
  }
  ingest = await startIngest(ingestConfig, { db: shared ?? undefined, log: log.child("ingest") });
  const exporterConfig = loadExporterConfig(process.env, { databaseUrl });
  exporter = await startExporter(exporterConfig, { db: shared ?? undefined, log: log.child("exporter") });
  log.info("Pulse is running", { ingest: `http://127.0.0.1:${ingest.port}/healthz`, metrics: `http://127.0.0.1:${exporter.port}/metrics` });
} catch (err) {
  log.error(`start failed: ${(err as Error).message}`);
  await close().catch(() => {});
  process.exit(1);
}

onShutdown(close, { log, timeoutMs: 15_000 });
