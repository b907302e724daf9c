import { ConfigError, envReader, readNatsAuth, type Env, type LogLevel, type NatsAuth } from "@pulse/config";
import { namespaceStreamNames, type StreamNames } from "@pulse/nats";

export interface ExporterConfig {
  /** DATABASE_URL: the database ingest fills. Required (`pnpm start` passes the embedded one's). */
  databaseUrl: string;
  /** DATABASE_POOL_MAX. Default 2: the reads run side by side, one query per table. */
  poolMax: number;
  /** METRICS_PORT for /metrics and /healthz. Default 9464. */
  port: number;
  /** METRICS_HOST. Default 0.0.0.0. */
  host: string;
  /** EXPORTER_CACHE_MS: how long one read of the tables serves scrapes. Default 1,000. */
  cacheMs: number;
  /**
   * NATS_URL: where the feed consumers' backlog is read, to tell `pipeline_behind`. Default
   * nats://127.0.0.1:4222; `none` turns it off (feeds are then never pipeline_behind).
   */
  natsUrl: string | undefined;
  /** NATS_USER + NATS_PASSWORD / NATS_PASSWORD_FILE, or NATS_CREDS: the exporter's user (see `readNatsAuth`). Default none. */
  natsAuth: NatsAuth;
  /** EXPORTER_BEHIND_PENDING: undelivered messages on a feed's consumer that mean ingest is behind. Default 1,000. */
  behindPending: number;
  /**
   * EXPORTER_STALL_MS: a consumer with pending messages whose delivered sequence has not moved
   * for this long means ingest is stuck (down, or waiting for the database). Default 30,000.
   */
  stallMs: number;
  /** LOG_LEVEL. Default info. */
  logLevel: LogLevel;
  /** Stream and consumer names. Defaults from contracts; PULSE_NAMESPACE=x as ingest reads it; tests use fresh ones. */
  names: StreamNames;
}

/** Reads the exporter's configuration once. Throws ConfigError naming the variable when one is bad. */
export function loadConfig(env: Env, overrides: Partial<ExporterConfig> = {}): Readonly<ExporterConfig> {
  const r = envReader(env);
  const databaseUrl = overrides.databaseUrl ?? r.url("DATABASE_URL", undefined, ["postgres:", "postgresql:"]);
  if (!databaseUrl) {
    throw new ConfigError("DATABASE_URL", "not set: point the exporter at the database ingest fills (pnpm start does this for you)");
  }
  const nats = r.string("NATS_URL", "nats://127.0.0.1:4222");
  const level = r.string("LOG_LEVEL", "info");
  if (!["silent", "error", "warn", "info"].includes(level)) {
    throw new ConfigError("LOG_LEVEL", `expected silent, error, warn or info, got ${JSON.stringify(level)}`);
  }
  return Object.freeze({
    databaseUrl,
    poolMax: r.int("DATABASE_POOL_MAX", 2, { min: 1, max: 20 }),
    port: r.int("METRICS_PORT", 9464, { min: 0, max: 65535 }),
    host: r.string("METRICS_HOST", "0.0.0.0"),
    cacheMs: r.int("EXPORTER_CACHE_MS", 1_000, { min: 0, max: 60_000 }),
    natsUrl: nats === "none" ? undefined : nats,
    natsAuth: readNatsAuth(env),
    behindPending: r.int("EXPORTER_BEHIND_PENDING", 1_000, { min: 1 }),
    stallMs: r.int("EXPORTER_STALL_MS", 30_000, { min: 1_000 }),
    logLevel: level as LogLevel,
    names: namespaceStreamNames(r.optional("PULSE_NAMESPACE")),
    ...overrides,
  });
}
