import { ConfigError, envReader, readNatsAuth, type Env, type LogLevel, type NatsAuth } from "@pulse/config";
import { namespaceStreamNames, type StreamNames } from "@pulse/nats";

export interface IngestConfig {
  /** NATS_URL. Default nats://127.0.0.1:4222 (comma-separated for a cluster). */
  natsUrl: string;
  /** NATS_USER + NATS_PASSWORD / NATS_PASSWORD_FILE, or NATS_CREDS: ingest's user (see `readNatsAuth`). Default none. */
  natsAuth: NatsAuth;
  /** DATABASE_URL. Default: none, meaning the embedded Postgres under `dataDir`. */
  databaseUrl: string | undefined;
  /** PULSE_DATA_DIR: where the embedded Postgres keeps its files. Default .data */
  dataDir: string;
  /** DATABASE_POOL_MAX. Default 6: a transaction per feed, the relay, probes. */
  poolMax: number;
  /** INGEST_PORT for /healthz and /metrics. Default 9465. */
  port: number;
  /** INGEST_BATCH_SIZE: largest batch per transaction. Default 4,000. */
  batchSize: number;
  /** INGEST_LINGER_MS: how long a batch waits for more after its first message. Default 20. */
  lingerMs: number;
  /** INGEST_MAX_BYTES: largest payload accepted. Default 65,536. */
  maxBytes: number;
  /** INGEST_MAX_FUTURE_MS: how far past the broker's receipt `ts` may be. Default 300,000. */
  maxFutureMs: number;
  /** INGEST_MAX_DELIVER: deliveries before a message is dead-lettered. Default 5. */
  maxDeliver: number;
  /** INGEST_ACK_WAIT_MS. Default 30,000. */
  ackWaitMs: number;
  /** INGEST_PROBE_MS: how often an unreachable database is probed. Default 1,000. */
  probeMs: number;
  /** EVENTS_RETENTION_DAYS: raw events kept, by receipt time. Default 90. */
  retentionDays: number;
  /**
   * DEAD_LETTERS_RETENTION_DAYS: dead letters kept, by receipt time. Default 30. Bounds what a
   * flood of bad messages can add to the database: one retention's worth, pruned hourly.
   */
  deadLetterRetentionDays: number;
  /** NATS_REPLICAS: stream replicas (3 on a cluster). Default 1. */
  replicas: number;
  /** LOG_LEVEL. Default info. */
  logLevel: LogLevel;
  /**
   * Stream, consumer and subject names. Defaults from contracts. PULSE_NAMESPACE=x gives every
   * stream and subject its own namespace (FEEDS_x, feeds_x.…): tests, or a staging beside prod.
   */
  names: StreamNames;
}

/** Reads the ingest configuration once. Throws ConfigError naming the variable when one is bad. */
export function loadConfig(env: Env, overrides: Partial<IngestConfig> = {}): Readonly<IngestConfig> {
  const r = envReader(env);
  const databaseUrl = r.url("DATABASE_URL", undefined, ["postgres:", "postgresql:"]);
  const level = r.string("LOG_LEVEL", "info");
  if (!["silent", "error", "warn", "info"].includes(level)) {
    throw new ConfigError("LOG_LEVEL", `expected silent, error, warn or info, got ${JSON.stringify(level)}`);
  }
  return Object.freeze({
    natsUrl: r.string("NATS_URL", "nats://127.0.0.1:4222"),
    natsAuth: readNatsAuth(env),
    databaseUrl,
    dataDir: r.string("PULSE_DATA_DIR", ".data"),
    poolMax: r.int("DATABASE_POOL_MAX", 6, { min: 1, max: 100 }),
    port: r.int("INGEST_PORT", 9465, { min: 0, max: 65535 }),
    batchSize: r.int("INGEST_BATCH_SIZE", 4_000, { min: 1, max: 10_000 }),
    lingerMs: r.int("INGEST_LINGER_MS", 20, { min: 0, max: 5_000 }),
    maxBytes: r.int("INGEST_MAX_BYTES", 65_536, { min: 256, max: 1_048_576 }),
    maxFutureMs: r.int("INGEST_MAX_FUTURE_MS", 300_000, { min: 0 }),
    maxDeliver: r.int("INGEST_MAX_DELIVER", 5, { min: 2, max: 1_000 }),
    ackWaitMs: r.int("INGEST_ACK_WAIT_MS", 30_000, { min: 1_000 }),
    probeMs: r.int("INGEST_PROBE_MS", 1_000, { min: 50 }),
    retentionDays: r.int("EVENTS_RETENTION_DAYS", 90, { min: 1 }),
    deadLetterRetentionDays: r.int("DEAD_LETTERS_RETENTION_DAYS", 30, { min: 1 }),
    replicas: r.int("NATS_REPLICAS", 1, { min: 1, max: 5 }),
    logLevel: level as LogLevel,
    names: namespaceStreamNames(r.optional("PULSE_NAMESPACE")),
    ...overrides,
  });
}
