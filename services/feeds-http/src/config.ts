import { ConfigError, envReader, readNatsAuth, type Env, type LogLevel, type NatsAuth } from "@pulse/config";
import { namespaceStreamNames, type StreamNames } from "@pulse/nats";

export interface FeedsHttpConfig {
  /** FEEDS_HTTP_PORT: `POST /v1/feeds/{feed}`, `GET /v1/status`. Default 8088. */
  port: number;
  /** FEEDS_HTTP_HOST. Default 0.0.0.0. */
  host: string;
  /** FEEDS_HTTP_ADMIN_PORT: `/metrics` and `/healthz`. Default 9467. */
  adminPort: number;
  /** FEEDS_HTTP_TOKENS_FILE: `<source> sha256:<hex>` per line, re-read when it changes. None: every request is refused. */
  tokensFile: string | undefined;
  /** FEEDS_HTTP_TLS_CERT / FEEDS_HTTP_TLS_KEY: PEM files; both or neither. Neither: plain HTTP (put TLS in front). */
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  /** FEEDS_HTTP_MAX_BYTES: largest body, compressed or decompressed. Default 8 MiB. */
  maxBytes: number;
  /** FEEDS_HTTP_RATE: lines per second per source (a bucket of one second's worth). Default 5,000. */
  rate: number;
  /** FEEDS_HTTP_SETTLE_MS: how long a POST waits for ingest before a line is `unsettled`. Default 30,000. */
  settleMs: number;
  /** FEEDS_HTTP_IN_FLIGHT: lines of one request published and awaiting their verdict at once. Default 500. */
  inFlight: number;
  /**
   * FEEDS_HTTP_IN_FLIGHT_TOTAL: lines of all requests together published and awaiting their
   * verdict at once (with FEEDS_HTTP_IN_FLIGHT_TOTAL_BYTES of payload, default 4 MiB): concurrent
   * uploads share it first come, first served. Default 4,000.
   */
  inFlightTotal: number;
  inFlightTotalBytes: number;
  /** FEEDS_HTTP_HEADER_TIMEOUT_MS: the whole request head must arrive within this. Default 10,000. */
  headerTimeoutMs: number;
  /** FEEDS_HTTP_BODY_TIMEOUT_MS: time a body may spend waiting on its sender, in all. Default 30,000. */
  bodyTimeoutMs: number;
  /** INGEST_MAX_BYTES, INGEST_MAX_FUTURE_MS: ingest's limits, read alike, to tell ahead which lines ingest will refuse (their Msg-Id). */
  recordMaxBytes: number;
  maxFutureMs: number;
  /** EXPORTER_BEHIND_PENDING, EXPORTER_STALL_MS: contracts' rule for "ingest is behind" (then 503). Defaults 1,000 and 30,000. */
  behindPending: number;
  stallMs: number;
  /** DATABASE_URL: for ingest's earlier versions (duplicates), dead letters and `GET /v1/status`. */
  databaseUrl: string | undefined;
  /** NATS_URL. Default nats://127.0.0.1:4222. */
  natsUrl: string;
  /** NATS_USER (`feeds_http` in infra/nats/permissions.conf) + password, or NATS_CREDS. */
  natsAuth: NatsAuth;
  logLevel: LogLevel;
  names: StreamNames;
}

/** Reads the door's configuration once. Throws ConfigError naming the variable when one is bad. */
export function loadConfig(env: Env, overrides: Partial<FeedsHttpConfig> = {}): Readonly<FeedsHttpConfig> {
  const r = envReader(env);
  const level = r.string("LOG_LEVEL", "info");
  if (!["silent", "error", "warn", "info"].includes(level)) {
    throw new ConfigError("LOG_LEVEL", `expected silent, error, warn or info, got ${JSON.stringify(level)}`);
  }
  const tlsCert = r.optional("FEEDS_HTTP_TLS_CERT");
  const tlsKey = r.optional("FEEDS_HTTP_TLS_KEY");
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw new ConfigError(
      tlsCert ? "FEEDS_HTTP_TLS_KEY" : "FEEDS_HTTP_TLS_CERT",
      "set both FEEDS_HTTP_TLS_CERT and FEEDS_HTTP_TLS_KEY, or neither",
    );
  }
  return Object.freeze({
    port: r.int("FEEDS_HTTP_PORT", 8088, { min: 0, max: 65535 }),
    host: r.string("FEEDS_HTTP_HOST", "0.0.0.0"),
    adminPort: r.int("FEEDS_HTTP_ADMIN_PORT", 9467, { min: 0, max: 65535 }),
    tokensFile: r.optional("FEEDS_HTTP_TOKENS_FILE"),
    tlsCert,
    tlsKey,
    maxBytes: r.int("FEEDS_HTTP_MAX_BYTES", 8 * 1024 * 1024, { min: 1024 }),
    rate: r.int("FEEDS_HTTP_RATE", 5_000, { min: 1 }),
    settleMs: r.int("FEEDS_HTTP_SETTLE_MS", 30_000, { min: 100 }),
    inFlight: r.int("FEEDS_HTTP_IN_FLIGHT", 500, { min: 1, max: 10_000 }),
    inFlightTotal: r.int("FEEDS_HTTP_IN_FLIGHT_TOTAL", 4_000, { min: 1, max: 1_000_000 }),
    inFlightTotalBytes: r.int("FEEDS_HTTP_IN_FLIGHT_TOTAL_BYTES", 4 * 1024 * 1024, { min: 1024 }),
    headerTimeoutMs: r.int("FEEDS_HTTP_HEADER_TIMEOUT_MS", 10_000, { min: 100 }),
    bodyTimeoutMs: r.int("FEEDS_HTTP_BODY_TIMEOUT_MS", 30_000, { min: 100 }),
    recordMaxBytes: r.int("INGEST_MAX_BYTES", 65_536, { min: 1_024 }),
    maxFutureMs: r.int("INGEST_MAX_FUTURE_MS", 300_000, { min: 0 }),
    behindPending: r.int("EXPORTER_BEHIND_PENDING", 1_000, { min: 1 }),
    stallMs: r.int("EXPORTER_STALL_MS", 30_000, { min: 1_000 }),
    databaseUrl: r.url("DATABASE_URL", undefined, ["postgres:", "postgresql:"]),
    natsUrl: r.string("NATS_URL", "nats://127.0.0.1:4222"),
    natsAuth: readNatsAuth(env),
    logLevel: level as LogLevel,
    names: namespaceStreamNames(r.optional("PULSE_NAMESPACE")),
    ...overrides,
  });
}
