/**
 * `tsx services/ingest/src/main.ts`: runs ingest alone. Without DATABASE_URL it expects the
 * embedded Postgres to be started by `pnpm start` (scripts/start.ts) or starts it itself.
 * First SIGINT/SIGTERM drains (within 10 s), a second one exits at once.
 */
import { ConfigError, createLogger } from "@pulse/config";
import { startEmbeddedPostgres } from "@pulse/db";
import { loadConfig } from "./config";
import { startIngest } from "./ingest";

const log = createLogger("ingest");
let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    log.error(`bad configuration: ${err.message}`);
    process.exit(2);
  }
  throw err;
}

const embedded = config.databaseUrl ? null : await startEmbeddedPostgres({ dataDir: `${config.dataDir}/pg` });
const ingest = await startIngest(config, { databaseUrl: embedded?.url, log });

let stoppingAt = 0;
const stop = async (signal: string) => {
  // A signal forwarded by pnpm/tsx arrives beside the terminal's own: only a second one a
  // moment later means "force".
  if (stoppingAt) {
    if (Date.now() - stoppingAt < 1_000) return;
    log.warn(`${signal} again: exiting now`);
    process.exit(1);
  }
  stoppingAt = Date.now();
  log.info(`${signal}: draining`);
  const force = setTimeout(() => {
    log.error("drain took longer than 10 s: exiting");
    process.exit(1);
  }, 10_000);
  force.unref();
  await ingest.close();
  await embedded?.close();
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
