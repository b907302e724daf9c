import { ConfigError, envReader, readNatsAuth, type Env, type LogLevel, type NatsAuth } from "@pulse/config";
import { namespaceStreamNames, type StreamNames } from "@pulse/nats";
import { noFaults, type Faults } from "./faults";

export interface SimulatorConfig {
  /** NATS_URL. Default nats://127.0.0.1:4222. */
  natsUrl: string;
  /** NATS_USER / NATS_PASSWORD(_FILE) / NATS_CREDS: the simulator's credentials. Default none. */
  natsAuth: NatsAuth;
  /** SIMULATOR_RATE: multiplies the volume of every source (documents, dossiers, outages; gauges report up to `rate` times per cadence). Default 1. */
  rate: number;
  /** SIMULATOR_DURATION_S: how long the live phase runs after the backfill; 0 for ever. Default 0. */
  durationS: number;
  /** SIMULATOR_SEED: the same seed gives the same events. Default 40 (the province's code). */
  seed: number;
  /** SIMULATOR_IN_FLIGHT: publishes awaiting their acknowledgement at once. Default 256. */
  inFlight: number;
  /** SIMULATOR_PUBLISH_TIMEOUT_MS: a publish not acknowledged this fast is retried with the same Msg-Id. Default 5,000. */
  publishTimeoutMs: number;
  /** SIMULATOR_BACKFILL=0 skips backfilling today so far on a fresh stream. Default 1. */
  backfill: boolean;
  /** SIMULATOR_TICK_MS: how often the live phase publishes what fell due. Default 250. */
  tickMs: number;
  faults: Faults;
  logLevel: LogLevel;
  /** PULSE_NAMESPACE, as ingest reads it. */
  names: StreamNames;
}

/** Reads the simulator's configuration once. Throws ConfigError naming the variable when one is bad. */
export function loadConfig(env: Env, overrides: Partial<SimulatorConfig> = {}): Readonly<SimulatorConfig> {
  const r = envReader(env);
  const level = r.string("LOG_LEVEL", "info");
  if (!["silent", "error", "warn", "info"].includes(level)) {
    throw new ConfigError("LOG_LEVEL", `expected silent, error, warn or info, got ${JSON.stringify(level)}`);
  }
  const rateText = r.string("SIMULATOR_RATE", "1");
  const rate = Number(rateText);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 100_000)
    throw new ConfigError("SIMULATOR_RATE", `expected a number above 0 (up to 100000), got ${JSON.stringify(rateText)}`);
  const backfill = r.string("SIMULATOR_BACKFILL", "1");
  if (!["0", "1"].includes(backfill)) throw new ConfigError("SIMULATOR_BACKFILL", `expected 0 or 1, got ${JSON.stringify(backfill)}`);
  return Object.freeze({
    natsUrl: r.string("NATS_URL", "nats://127.0.0.1:4222"),
    natsAuth: readNatsAuth(env),
    rate,
    durationS: r.int("SIMULATOR_DURATION_S", 0),
    seed: r.int("SIMULATOR_SEED", 40, { min: 0, max: 2 ** 32 - 1 }),
    inFlight: r.int("SIMULATOR_IN_FLIGHT", 256, { min: 1, max: 65_536 }),
    publishTimeoutMs: r.int("SIMULATOR_PUBLISH_TIMEOUT_MS", 5_000, { min: 100 }),
    backfill: backfill === "1",
    tickMs: r.int("SIMULATOR_TICK_MS", 250, { min: 10, max: 60_000 }),
    faults: noFaults,
    logLevel: level as LogLevel,
    names: namespaceStreamNames(r.optional("PULSE_NAMESPACE")),
    ...overrides,
  });
}
