import { envReader, readNatsAuth, type Env, type NatsAuth } from "@pulse/config";
import { defaultStreamNames, testStreamNames, type StreamNames } from "@pulse/nats";

export interface CliConfig {
  /** NATS_URL, as ingest reads it. Default nats://127.0.0.1:4222 (comma-separated for a cluster). */
  natsUrl: string;
  /**
   * NATS_USER + NATS_PASSWORD / NATS_PASSWORD_FILE, or NATS_CREDS (see `readNatsAuth`): the
   * operators' `cli` user of infra/nats/permissions.conf, or a producer's own for `publish`.
   * Default none.
   */
  natsAuth: NatsAuth;
  /**
   * DATABASE_URL, as ingest reads it. Default: the embedded Postgres `pnpm start` serves,
   * postgres://postgres@127.0.0.1:<EMBEDDED_PG_PORT, 54329>/postgres.
   */
  databaseUrl: string;
  /** True when DATABASE_URL was set (not the embedded default): said in errors. */
  databaseUrlSet: boolean;
  /** Stream, consumer and subject names: defaults, or PULSE_NAMESPACE's (as ingest reads it). */
  names: StreamNames;
  /** INGEST_MAX_BYTES, as ingest reads it: `check` judges payload size by it. Default 65,536. */
  maxBytes: number;
  /** INGEST_MAX_FUTURE_MS, as ingest reads it. Default 300,000. */
  maxFutureMs: number;
  /** EVENTS_RETENTION_DAYS, as ingest reads it: `replay` refuses days whose raw events may be gone. Default 90. */
  retentionDays: number;
  /** LIVE_ADMIN_URL: the live gateway's admin port, for its clients in `status`. Default http://127.0.0.1:9466. */
  liveAdminUrl: string;
  /** EXPORTER_BEHIND_PENDING, as the exporter reads it: pending messages meaning ingest is behind. Default 1,000. */
  behindPending: number;
}

/** Reads the CLI's configuration once. Throws ConfigError naming the variable when one is bad. */
export function loadConfig(env: Env, overrides: Partial<CliConfig> = {}): Readonly<CliConfig> {
  const r = envReader(env);
  const set = r.url("DATABASE_URL", undefined, ["postgres:", "postgresql:"]);
  const embeddedPort = r.int("EMBEDDED_PG_PORT", 54329, { min: 1, max: 65535 });
  const namespace = r.optional("PULSE_NAMESPACE");
  return Object.freeze({
    natsUrl: r.string("NATS_URL", "nats://127.0.0.1:4222"),
    natsAuth: readNatsAuth(env),
    databaseUrl: set ?? `postgres://postgres@127.0.0.1:${embeddedPort}/postgres`,
    databaseUrlSet: set !== undefined,
    names: namespace ? testStreamNames(namespace) : defaultStreamNames,
    maxBytes: r.int("INGEST_MAX_BYTES", 65_536, { min: 256, max: 1_048_576 }),
    maxFutureMs: r.int("INGEST_MAX_FUTURE_MS", 300_000, { min: 0 }),
    retentionDays: r.int("EVENTS_RETENTION_DAYS", 90, { min: 1 }),
    liveAdminUrl: r.url("LIVE_ADMIN_URL", "http://127.0.0.1:9466", ["http:", "https:"])!,
    behindPending: r.int("EXPORTER_BEHIND_PENDING", 1_000, { min: 1 }),
    ...overrides,
  });
}
