import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigError, envReader, type Env, type LogLevel } from "@pulse/config";
import { defaultBehindPending, defaultStallMs } from "@pulse/contracts";
import { namespaceStreamNames, type StreamNames } from "@pulse/nats";

export interface LiveConfig {
  /** DATABASE_URL: the database ingest fills (the state is read from it at start). Required. */
  databaseUrl: string;
  /** DATABASE_POOL_MAX. Default 2. */
  poolMax: number;
  /** NATS_URL. Default nats://127.0.0.1:4222. */
  natsUrl: string;
  /** LIVE_PORT: WebSocket at /live, the wall page at /, /config.json, /vendor/*, /healthz. Default 8080. */
  port: number;
  /** LIVE_HOST. Default 0.0.0.0. */
  host: string;
  /** LIVE_ADMIN_PORT: /metrics and /healthz. Default 9466. */
  adminPort: number;
  /**
   * Viewer tokens, from LIVE_TOKENS (comma-separated) or LIVE_TOKENS_FILE (one per line or
   * comma-separated; `#` starts a comment). null = open (local use; the start log says so).
   */
  tokens: readonly string[] | null;
  /** LIVE_ORIGINS: allowed browser origins (comma-separated). null = any. */
  origins: readonly string[] | null;
  /** LIVE_TICK_MS: how often deltas are coalesced into frames. Default 100. */
  tickMs: number;
  /** LIVE_HEARTBEAT_MS: heartbeat frame interval. Default 5,000. */
  heartbeatMs: number;
  /** LIVE_PING_MS: WebSocket ping interval; a socket that has not answered the previous ping is cut. Default 30,000. */
  pingMs: number;
  /** LIVE_MAX_PAYLOAD: largest client frame, bytes (larger: closed with 1009). Default 16,384. */
  maxPayload: number;
  /** LIVE_MAX_SUBSCRIPTIONS per socket. Default 32. */
  maxSubscriptions: number;
  /**
   * LIVE_SLOW_BYTES: bytes a socket may have queued (`bufferedAmount`) before its deltas are held
   * back and coalesced per key. Default 256 KiB: what a slow link queues is latency (at 50 KB/s a
   * 1 MiB queue is 20 s old), and the gateway's memory is clients × (this + one frame).
   */
  slowBytes: number;
  /** LIVE_SLOW_MS: how long a socket may stay above `slowBytes` before it is closed with 1013. Default 10,000. */
  slowMs: number;
  /**
   * LIVE_MAX_BUFFERED_BYTES: a socket with more than this queued is closed with 1013 at once.
   * Default 8 MiB: above a full snapshot of every station (about 1.3 MB for 10,000), which a new
   * client may take a moment to drain.
   */
  maxBufferedBytes: number;
  /**
   * LIVE_PROBE_MS: how often each socket is probed with a ping to tell a full link (bytes queued in
   * the kernel, which bufferedAmount does not see). Default 1,000: each probe is a ping out and a
   * pong back per socket, and at 250 ms they were a tenth of the gateway's CPU at 2,000 clients.
   */
  probeMs: number;
  /**
   * LIVE_LAG_MS: a probe unanswered this long means the link is full: deltas are held and
   * coalesced until it answers. Default 1,000 (a screen on a slow link then gets one merged frame
   * per round trip instead of a queue that only grows).
   */
  lagMs: number;
  /**
   * LIVE_DEFLATE: offer permessage-deflate (RFC 7692), each tick's frame compressed once for every
   * socket that agrees (every browser does). Default on; `0` sends plain text frames.
   */
  deflate: boolean;
  /** LIVE_RING: recent LIVE messages kept in memory to answer a `since` without reading the stream. Default 20,000. */
  ringSize: number;
  /** LIVE_RING_BYTES: most bytes of message bodies in that ring. Default 64 MiB. */
  ringBytes: number;
  /** LIVE_DAYS: UTC+7 days of esign_day/egov_day keys held (today included). Default 31. */
  days: number;
  /** LIVE_MINUTES_HOURS: hours of egov_minute keys held. Default 6. */
  minutesHours: number;
  /**
   * LIVE_DERIVED_MS: under a steady flow, how often `kpi` and `rollup` are judged again (sums over
   * the whole state: some milliseconds each time). Default 500.
   */
  derivedMs: number;
  /** LIVE_BEHIND_PENDING: as the exporter's EXPORTER_BEHIND_PENDING (pipeline_behind). Default 1,000. */
  behindPending: number;
  /** LIVE_STALL_MS: as the exporter's EXPORTER_STALL_MS. Default 30,000. */
  stallMs: number;
  /** LIVE_RELAY_BEHIND_MS: committed changes not in LIVE after this long make heartbeats say behind. Default 3,000. */
  relayBehindMs: number;
  /** LIVE_START_WAIT_MS: how long start waits for the first read of the state before serving without it. Default 10,000. */
  startWaitMs: number;
  /** PULSE_OPERATOR_NAME, shown by the wall (in /config.json). */
  operatorName: string;
  /** Folder served at / (the wall page). Default services/live/wall. */
  wallDir: string;
  /** LOG_LEVEL. Default info. */
  logLevel: LogLevel;
  /** Stream names. Defaults from contracts; PULSE_NAMESPACE=x as ingest reads it; tests use fresh ones. */
  names: StreamNames;
}

const list = (v: string | undefined): string[] | null => {
  if (v === undefined) return null;
  const items = v
    .split(/[,\n]/)
    .map((x) => x.replace(/#.*$/, "").trim())
    .filter((x) => x.length > 0);
  return items;
};

/** Reads the gateway's configuration once. Throws ConfigError naming the variable when one is bad. */
export function loadConfig(env: Env, overrides: Partial<LiveConfig> = {}): Readonly<LiveConfig> {
  const r = envReader(env);
  const databaseUrl = overrides.databaseUrl ?? r.url("DATABASE_URL", undefined, ["postgres:", "postgresql:"]);
  if (!databaseUrl) {
    throw new ConfigError("DATABASE_URL", "not set: point the gateway at the database ingest fills (pnpm start does this for you)");
  }
  const level = r.string("LOG_LEVEL", "info");
  if (!["silent", "error", "warn", "info"].includes(level)) {
    throw new ConfigError("LOG_LEVEL", `expected silent, error, warn or info, got ${JSON.stringify(level)}`);
  }
  let tokens = list(r.optional("LIVE_TOKENS"));
  const file = r.optional("LIVE_TOKENS_FILE");
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError("LIVE_TOKENS_FILE", `cannot read ${file}: ${(err as Error).message}`);
    }
    tokens = [...(tokens ?? []), ...(list(text) ?? [])];
    if (tokens.length === 0) throw new ConfigError("LIVE_TOKENS_FILE", `${file} holds no token (an empty list would refuse everyone)`);
  }
  if (tokens !== null && tokens.length === 0) throw new ConfigError("LIVE_TOKENS", "set but empty: leave it unset for open access");
  const origins = list(r.optional("LIVE_ORIGINS"));
  const slowBytes = r.int("LIVE_SLOW_BYTES", 256 * 1024, { min: 1024 });
  return Object.freeze({
    databaseUrl,
    poolMax: r.int("DATABASE_POOL_MAX", 2, { min: 1, max: 20 }),
    natsUrl: r.string("NATS_URL", "nats://127.0.0.1:4222"),
    port: r.int("LIVE_PORT", 8080, { min: 0, max: 65535 }),
    host: r.string("LIVE_HOST", "0.0.0.0"),
    adminPort: r.int("LIVE_ADMIN_PORT", 9466, { min: 0, max: 65535 }),
    tokens: tokens ? Object.freeze(tokens) : null,
    origins: origins ? Object.freeze(origins) : null,
    tickMs: r.int("LIVE_TICK_MS", 100, { min: 10, max: 5_000 }),
    heartbeatMs: r.int("LIVE_HEARTBEAT_MS", 5_000, { min: 100, max: 60_000 }),
    pingMs: r.int("LIVE_PING_MS", 30_000, { min: 100, max: 600_000 }),
    maxPayload: r.int("LIVE_MAX_PAYLOAD", 16_384, { min: 256, max: 1024 * 1024 }),
    maxSubscriptions: r.int("LIVE_MAX_SUBSCRIPTIONS", 32, { min: 1, max: 1_000 }),
    slowBytes,
    slowMs: r.int("LIVE_SLOW_MS", 10_000, { min: 0 }),
    maxBufferedBytes: r.int("LIVE_MAX_BUFFERED_BYTES", Math.max(8 * 1024 * 1024, slowBytes * 2), { min: slowBytes }),
    probeMs: r.int("LIVE_PROBE_MS", 1_000, { min: 10, max: 60_000 }),
    lagMs: r.int("LIVE_LAG_MS", 1_000, { min: 10, max: 60_000 }),
    deflate: r.int("LIVE_DEFLATE", 1, { min: 0, max: 1 }) === 1,
    ringSize: r.int("LIVE_RING", 20_000, { min: 0, max: 1_000_000 }),
    ringBytes: r.int("LIVE_RING_BYTES", 64 * 1024 * 1024, { min: 0 }),
    days: r.int("LIVE_DAYS", 31, { min: 1, max: 400 }),
    minutesHours: r.int("LIVE_MINUTES_HOURS", 6, { min: 1, max: 24 * 7 }),
    derivedMs: r.int("LIVE_DERIVED_MS", 500, { min: 0, max: 60_000 }),
    behindPending: r.int("LIVE_BEHIND_PENDING", defaultBehindPending, { min: 1 }),
    stallMs: r.int("LIVE_STALL_MS", defaultStallMs, { min: 1_000 }),
    relayBehindMs: r.int("LIVE_RELAY_BEHIND_MS", 3_000, { min: 100 }),
    startWaitMs: r.int("LIVE_START_WAIT_MS", 10_000, { min: 0 }),
    operatorName: r.string("PULSE_OPERATOR_NAME", "Sở Khoa học và Công nghệ tỉnh Nghệ An"),
    wallDir: fileURLToPath(new URL("../wall/", import.meta.url)),
    logLevel: level as LogLevel,
    names: namespaceStreamNames(r.optional("PULSE_NAMESPACE")),
    ...overrides,
  });
}
