import { envReader, readNatsAuth, readRunRecord, type Env, type NatsAuth } from "@pulse/config";
import { defaultStreamNames, testStreamNames, type StreamNames } from "@pulse/nats";

/** Where a server's address came from: the environment, a running `pnpm start`'s record, or the default. */
export type Origin = "env" | "start" | "default";

/** What `<PULSE_DATA_DIR>/pulse.json` said: the running start the tools use when the environment names no server. */
export interface StartSeen {
  /** The record's path. */
  path: string;
  /** The start's pid, when there is a record. */
  pid: number | null;
  /** True when that start is alive (its record is in force). */
  live: boolean;
}

export interface CliConfig {
  /**
   * NATS_URL, as ingest reads it; unset: the running `pnpm start`'s own (from pulse.json); else
   * nats://127.0.0.1:4222 (comma-separated for a cluster).
   */
  natsUrl: string;
  natsFrom: Origin;
  /**
   * NATS_USER + NATS_PASSWORD / NATS_PASSWORD_FILE, or NATS_CREDS (see `readNatsAuth`): the
   * operators' `cli` user of infra/nats/permissions.conf, or a producer's own for `publish`.
   * Default none.
   */
  natsAuth: NatsAuth;
  /**
   * DATABASE_URL, as ingest reads it. Unset: the running `pnpm start`'s (pulse.json, with its
   * password); else postgres://postgres@127.0.0.1:<EMBEDDED_PG_PORT, 54329>/postgres.
   */
  databaseUrl: string;
  /** True when DATABASE_URL was set (not the embedded default): said in errors. */
  databaseUrlSet: boolean;
  databaseFrom: Origin;
  /** The `pnpm start` record under PULSE_DATA_DIR (default .data). */
  start: StartSeen;
  /** Stream, consumer and subject names: defaults, or PULSE_NAMESPACE's (as ingest reads it). */
  names: StreamNames;
  /** INGEST_MAX_BYTES, as ingest reads it: `check` judges payload size by it. Default 65,536. */
  maxBytes: number;
  /** INGEST_MAX_FUTURE_MS, as ingest reads it. Default 300,000. */
  maxFutureMs: number;
  /** EVENTS_RETENTION_DAYS, as ingest reads it: `replay` refuses days whose raw events may be gone. Default 90. */
  retentionDays: number;
  /** LIVE_ADMIN_URL: the live gateway's admin port, for its clients in `status`. Default: the running start's, else http://127.0.0.1:9466. */
  liveAdminUrl: string;
  /** EXPORTER_BEHIND_PENDING, as the exporter reads it: pending messages meaning ingest is behind. Default 1,000. */
  behindPending: number;
}

/** Reads the CLI's configuration once. Throws ConfigError naming the variable when one is bad. */
export function loadConfig(env: Env, overrides: Partial<CliConfig> = {}): Readonly<CliConfig> {
  const r = envReader(env);
  const set = r.url("DATABASE_URL", undefined, ["postgres:", "postgresql:"]);
  const embeddedPort = r.int("EMBEDDED_PG_PORT", 54329, { min: 1, max: 65535 });
  const natsSet = r.optional("NATS_URL");
  // The environment always wins; a running start's record comes next (only while its pid lives).
  const seen = readRunRecord(r.string("PULSE_DATA_DIR", ".data"));
  const rec = seen.live ? seen.record : null;
  const namespace = r.optional("PULSE_NAMESPACE") ?? rec?.namespace;
  return Object.freeze({
    natsUrl: natsSet ?? rec?.natsUrl ?? "nats://127.0.0.1:4222",
    natsFrom: natsSet ? "env" : rec ? "start" : "default",
    natsAuth: readNatsAuth(env),
    databaseUrl: set ?? rec?.databaseUrl ?? `postgres://postgres@127.0.0.1:${embeddedPort}/postgres`,
    databaseUrlSet: set !== undefined,
    databaseFrom: set ? "env" : rec ? "start" : "default",
    start: { path: seen.path, pid: seen.record?.pid ?? null, live: seen.live },
    names: namespace ? testStreamNames(namespace) : defaultStreamNames,
    maxBytes: r.int("INGEST_MAX_BYTES", 65_536, { min: 256, max: 1_048_576 }),
    maxFutureMs: r.int("INGEST_MAX_FUTURE_MS", 300_000, { min: 0 }),
    retentionDays: r.int("EVENTS_RETENTION_DAYS", 90, { min: 1 }),
    liveAdminUrl: r.url("LIVE_ADMIN_URL", rec?.liveAdminUrl ?? "http://127.0.0.1:9466", ["http:", "https:"])!,
    behindPending: r.int("EXPORTER_BEHIND_PENDING", 1_000, { min: 1 }),
    ...overrides,
  } satisfies CliConfig);
}
