/**
 * `tsx services/ingest/src/main.ts`: runs ingest alone. Without DATABASE_URL it expects the
 * embedded Postgres to be started by `pnpm start` (scripts/start.ts) or starts it itself.
 * First SIGINT/SIGTERM drains (within 10 s), a second one exits at once.
 */
import { ConfigError, createLogger, onShutdown } from "@pulse/config";
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

onShutdown(
  async () => {
    await ingest.close();
    await embedded?.close();
  },
  { log },
);
