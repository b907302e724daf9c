import { readFileSync } from "node:fs";
import { ConfigError, envReader, type Env } from "./env-reader";

/**
 * Who a service is to NATS. Pass it as is to `connectNats(url, name, auth)` of `@pulse/nats`.
 * Secrets never come from the repository: from the environment or from a file named there.
 * `JSON.stringify` (the logger) and `util.inspect` show it with every secret masked.
 */
export interface NatsAuth {
  /** NATS_USER. */
  readonly user?: string;
  /** NATS_PASSWORD, or the first line of the file NATS_PASSWORD_FILE names. */
  readonly pass?: string;
  /**
   * NATS_CREDS: path of a `.creds` file (user JWT and nkey seed) or of an nkey seed file. Read
   * again at every (re)connection, so a rotated file is picked up without a restart.
   */
  readonly credsFile?: string;
  /**
   * NATS_INBOX_PREFIX: where replies come back (JetStream acks, pulled messages, API answers).
   * Default `_INBOX_<user>` with a user (permissions.conf lets each user read only its own inboxes,
   * so no one hears another's pulled messages), else the library's `_INBOX`.
   */
  readonly inboxPrefix?: string;
}

const mask = "***";

/** A copy safe to log: secrets replaced by `***`, the rest (user, file path) kept. */
export function maskedNatsAuth(auth: NatsAuth): Record<string, string> {
  const out: Record<string, string> = {};
  if (auth.user !== undefined) out.user = auth.user;
  if (auth.pass !== undefined) out.pass = mask;
  if (auth.credsFile !== undefined) out.credsFile = auth.credsFile;
  if (auth.inboxPrefix !== undefined) out.inboxPrefix = auth.inboxPrefix;
  return out;
}

/**
 * Reads the NATS credentials of a service from its environment: `NATS_USER` with `NATS_PASSWORD`
 * or `NATS_PASSWORD_FILE`, or `NATS_CREDS` (a creds or nkey seed file), and `NATS_INBOX_PREFIX`.
 * None set: an empty NatsAuth (an open server, or credentials inside NATS_URL, which
 * `connectNats` takes out of the URL and passes as options). Throws ConfigError naming the
 * variable (never its value) when they are contradictory or a file cannot be read.
 */
export function readNatsAuth(env: Env): NatsAuth {
  const r = envReader(env);
  const user = r.optional("NATS_USER");
  const inline = env.NATS_PASSWORD;
  const passFile = r.optional("NATS_PASSWORD_FILE");
  const credsFile = r.optional("NATS_CREDS");
  if (inline !== undefined && inline !== "" && passFile) {
    throw new ConfigError("NATS_PASSWORD_FILE", "NATS_PASSWORD is set too: give the password one way");
  }
  // A password is taken as it is (it may begin or end with a space); only a file's line end goes.
  let pass = inline === undefined || inline === "" ? undefined : inline;
  if (passFile) pass = readSecretFile("NATS_PASSWORD_FILE", passFile).split(/\r?\n/)[0];
  if (pass !== undefined && pass === "") throw new ConfigError(passFile ? "NATS_PASSWORD_FILE" : "NATS_PASSWORD", "the password is empty");
  if (pass !== undefined && !user) throw new ConfigError("NATS_USER", "not set, but a password is: set the user the password belongs to");
  if (user && pass === undefined && !credsFile) {
    throw new ConfigError("NATS_PASSWORD", `not set for NATS_USER=${user}: set NATS_PASSWORD or NATS_PASSWORD_FILE`);
  }
  if (credsFile) {
    if (pass !== undefined)
      throw new ConfigError("NATS_CREDS", "a password is set too: use either a creds/nkey file or a user and password");
    const text = readSecretFile("NATS_CREDS", credsFile);
    if (!/-----BEGIN USER NKEY SEED-----/.test(text) && !/^\s*SU[A-Z2-7]{50,}\s*$/.test(text)) {
      throw new ConfigError("NATS_CREDS", `${credsFile} is neither a .creds file (JWT and seed) nor an nkey seed (SU…)`);
    }
  }
  const prefix = r.optional("NATS_INBOX_PREFIX") ?? (user ? `_INBOX_${user}` : undefined);
  if (prefix !== undefined && !/^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/.test(prefix)) {
    throw new ConfigError(
      user && !r.optional("NATS_INBOX_PREFIX") ? "NATS_USER" : "NATS_INBOX_PREFIX",
      "not usable in a subject (letters, digits, _ - $ and dots only)",
    );
  }
  const auth: NatsAuth = {
    ...(user ? { user } : {}),
    ...(pass !== undefined ? { pass } : {}),
    ...(credsFile ? { credsFile } : {}),
    ...(prefix ? { inboxPrefix: prefix } : {}),
  };
  // Not enumerable, so spreading the object (into connect options) does not copy them.
  Object.defineProperty(auth, "toJSON", { value: () => maskedNatsAuth(auth) });
  Object.defineProperty(auth, Symbol.for("nodejs.util.inspect.custom"), { value: () => maskedNatsAuth(auth) });
  return Object.freeze(auth);
}

function readSecretFile(variable: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(variable, `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
