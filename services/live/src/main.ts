import { ConfigError, createLogger, onShutdown } from "@pulse/config";
import { loadConfig } from "./config";
import { startLive } from "./live";

// The one place that reads process.env and owns shutdown.
let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`bad configuration: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
const log = createLogger("live", config.logLevel);
const live = await startLive(config, { log });

onShutdown(() => live.close(), { log });
