import { createLogger, onShutdown } from "@pulse/config";
import { loadConfig } from "./config";
import { startFeedsHttp } from "./feeds-http";

// The one place that reads process.env and owns shutdown.
const config = loadConfig(process.env);
const log = createLogger("feeds-http", config.logLevel);
const door = await startFeedsHttp(config, { log });

onShutdown(() => door.close(), { log });
