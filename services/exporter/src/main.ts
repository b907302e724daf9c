import { createLogger } from "@pulse/config";
import { loadConfig } from "./config";
import { startExporter } from "./exporter";

// The one place that reads process.env and owns shutdown.
const config = loadConfig(process.env);
const log = createLogger("exporter", config.logLevel);
const exporter = await startExporter(config, { log });

let stopping = false;
const stop = (signal: string) => {
  // First signal closes in order within a bound; a second one forces.
  if (stopping) process.exit(1);
  stopping = true;
  log.info("stopping", { signal });
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  exporter.close().then(
    () => process.exit(0),
    (err) => {
      log.error("close failed", { error: (err as Error).message });
      process.exit(1);
    },
  );
};
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));
