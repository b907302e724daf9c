import { readFileSync } from "node:fs";
import {
  AuthorizationError,
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  PermissionViolationError,
  UserAuthenticationExpiredError,
  type ConnectionOptions,
  type NatsConnection,
} from "@nats-io/transport-node";
import { redactNatsUrl, splitNatsUrl } from "./nats-url";

export type { NatsConnection } from "@nats-io/transport-node";

/** Thrown when no NATS server answers at start; says what to do. The URL is shown without secrets. */
export class NatsUnreachableError extends Error {
  readonly code = "PULSE_NATS_UNREACHABLE";
  constructor(url: string, cause: unknown) {
    super(
      `no NATS server at ${redactNatsUrl(url)} (${(cause as Error)?.message ?? cause}). Start one with JetStream ` +
        `(nats-server -js), or install it: apt-get install nats-server`,
      { cause },
    );
    this.name = "NatsUnreachableError";
  }
}

/** Thrown when a NATS server answered but refused who we said we are (or that we said no one). */
export class NatsAuthError extends Error {
  readonly code = "PULSE_NATS_AUTH";
  constructor(url: string, who: string | null, cause: unknown) {
    const reason = (cause as Error)?.message ?? String(cause);
    super(
      who === null
        ? `the NATS server at ${redactNatsUrl(url)} wants credentials and none were given (${reason}): set NATS_USER and ` +
            `NATS_PASSWORD (or NATS_PASSWORD_FILE), or NATS_CREDS, for this service's user in infra/nats/permissions.conf`
        : `the NATS server at ${redactNatsUrl(url)} refused the credentials of ${who} (${reason}): check NATS_USER and ` +
            `NATS_PASSWORD (or NATS_PASSWORD_FILE, NATS_CREDS) against that user's password in nats-server's environment ` +
            `(PULSE_NATS_<USER>, read by infra/nats/permissions.conf)`,
      { cause },
    );
    this.name = "NatsAuthError";
  }
}

/** What connectNats needs to know besides the URL. A `NatsAuth` of `@pulse/config` fits as is. */
export interface ConnectNatsOptions {
  /** User and password (a user of infra/nats/permissions.conf). */
  user?: string;
  pass?: string;
  /** A `.creds` file (JWT and seed) or an nkey seed file; read again at every (re)connection. */
  credsFile?: string;
  /** Reply subjects' prefix. Default `_INBOX_<user>` when there is a user, else `_INBOX`. */
  inboxPrefix?: string;
  /**
   * Told what the server says later, asynchronously: a publish or subscription it refused
   * (permissions), a lost or regained connection. Without it a refused publish shows only as a
   * timeout. Default: nobody is told.
   */
  log?: { info(msg: string, fields?: Record<string, unknown>): void; warn(msg: string, fields?: Record<string, unknown>): void };
  /** How long the first connection may take, in ms. Default 20,000 (the library's). */
  timeoutMs?: number;
  /**
   * Capture a stack for every request up front (nats.js's `noAsyncTraces: false`), so that a
   * failed request says where it was made. Default true. A hot sender turns it off: two Error
   * objects a publish were a seventh of the HTTPS door's CPU.
   */
  asyncTraces?: boolean;
}

/**
 * Connects to NATS (`url`: one server or several, comma-separated). Credentials come from
 * `options` (see `readNatsAuth` in `@pulse/config`) or from the URL, which nats.js v3 would
 * silently ignore: they are taken out of it and passed as options. Once connected, the client
 * reconnects forever: a broker restart is an outage to ride out, not a reason to exit.
 * Throws NatsAuthError when the server refuses the credentials, NatsUnreachableError when none answers.
 */
export async function connectNats(url: string, name: string, options: ConnectNatsOptions = {}): Promise<NatsConnection> {
  const { servers, credentials } = splitNatsUrl(url);
  const fromUrl = credentials.user !== undefined || credentials.token !== undefined;
  const fromOptions = options.user !== undefined || options.credsFile !== undefined;
  if (fromUrl && fromOptions && (credentials.user !== options.user || credentials.pass !== options.pass)) {
    throw new Error("NATS_URL carries credentials and NATS_USER or NATS_CREDS gives others: give them one way");
  }
  const user = options.user ?? credentials.user;
  const pass = options.pass ?? credentials.pass;
  const opts: ConnectionOptions = {
    servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    pingInterval: 10_000,
    ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    ...(options.asyncTraces === false ? { noAsyncTraces: true } : {}),
  };
  if (options.credsFile) {
    const file = options.credsFile;
    const read = () => readFileSync(file);
    opts.authenticator = /BEGIN NATS USER JWT/.test(read().toString("utf8"))
      ? credsAuthenticator(read)
      : nkeyAuthenticator(() => new TextEncoder().encode(read().toString("utf8").trim()));
  } else if (user !== undefined) {
    opts.user = user;
    opts.pass = pass;
  } else if (credentials.token !== undefined) {
    opts.token = credentials.token;
  }
  const prefix = options.inboxPrefix ?? (user !== undefined ? `_INBOX_${user}` : undefined);
  if (prefix) opts.inboxPrefix = prefix;

  let nc: NatsConnection;
  try {
    nc = await connect(opts);
  } catch (err) {
    if (isAuthFailure(err)) {
      const who = options.credsFile
        ? `the key in ${options.credsFile}`
        : user !== undefined
          ? `user "${user}"`
          : fromUrl
            ? "the URL's token"
            : null;
      throw new NatsAuthError(url, who, err);
    }
    throw new NatsUnreachableError(url, err);
  }
  if (options.log) void watchStatus(nc, name, options.log);
  return nc;
}

function isAuthFailure(err: unknown): boolean {
  for (let e = err as Error | undefined, i = 0; e && i < 5; e = e.cause as Error | undefined, i++) {
    if (e instanceof AuthorizationError || e instanceof UserAuthenticationExpiredError) return true;
    if (/authorization violation|authentication (error|timeout|expired)/i.test(e.message ?? "")) return true;
  }
  return false;
}

/** Logs what the server tells the connection after it is up (its status stream ends at close). */
async function watchStatus(nc: NatsConnection, name: string, log: NonNullable<ConnectNatsOptions["log"]>): Promise<void> {
  for await (const s of nc.status()) {
    if (s.type === "error" && s.error instanceof PermissionViolationError) {
      log.warn("NATS refused this connection a permission: the user lacks it in infra/nats/permissions.conf", {
        connection: name,
        operation: s.error.operation,
        subject: s.error.subject,
      });
    } else if (s.type === "error") {
      log.warn("NATS reported an error", { connection: name, error: s.error.message });
    } else if (s.type === "disconnect") {
      log.warn("NATS connection lost; reconnecting", { connection: name, server: s.server });
    } else if (s.type === "reconnect") {
      log.info("NATS connection back", { connection: name, server: s.server });
    }
  }
}
