import { createLogger, onShutdown } from "@pulse/config";
import { loadConfig } from "./config";
import { startExporter } from "./exporter";

// The one place that reads process.env and owns shutdown.
const config = loadConfig(process.env);
const log = createLogger("exporter", config.logLevel);
const exporter = await startExporter(config, { log });

onShutdown(() => exporter.close(), { log });
