import { createLogger } from "@pulse/config";
import { loadConfig } from "./config";
import { startExporter } from "./exporter";

// The one place that reads process.env and owns shutdown.
const config = loadConfig(process.env);
const log = createLogger("exporter", config.logLevel);
const exporter = await startExporter(config, { log });

let stoppingAt = 0;
const stop = (signal: string) => {
  // First signal closes in order within a bound; a second one (a moment later: pnpm/tsx
  // forward the terminal's Ctrl-C beside the terminal itself) forces.
  if (stoppingAt) {
    if (Date.now() - stoppingAt > 1_000) process.exit(1);
    return;
  }
  stoppingAt = Date.now();
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
