/**
 * `pnpm simulate [--rate x] [--duration s] [--seed n] [faults…]`: the simulator alone, against
 * the NATS at NATS_URL (streams made by ingest). First SIGINT/SIGTERM ends the run cleanly (what
 * is held back is sent, every publish acknowledged), a second one exits at once.
 */
import { ConfigError, createLogger, onShutdown } from "@pulse/config";
import { parseCli, usage } from "./cli-args";
import { loadConfig } from "./config";
import { startSimulator } from "./simulator";

const log = createLogger("simulator");
let config;
try {
  const { overrides, help } = parseCli(process.argv.slice(2));
  if (help) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  config = loadConfig(process.env, overrides);
} catch (err) {
  if (err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    log.error(`bad configuration: ${(err as Error).message}`);
    process.stderr.write(`${usage}\n`);
    process.exit(2);
  }
  throw err;
}

let sim;
try {
  sim = await startSimulator(config, { log: createLogger("simulator", config.logLevel) });
} catch (err) {
  log.error((err as Error).message);
  process.exit(1);
}
const t0 = Date.now();
const report = () => {
  const s = sim.stats();
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(
    `${JSON.stringify({ seconds, messages: s.messages, per_s: Math.round(s.messages / seconds), fresh: s.fresh, backfilled: s.backfilled, records: s.records, publish: s.publish, injected: s.injected, memory_mb: Math.round(process.memoryUsage().rss / 1e6) })}\n`,
  );
};
onShutdown(
  async () => {
    await sim.close();
    report();
  },
  { log, timeoutMs: 30_000 },
);
await sim.done;
report();
process.exit(0);
