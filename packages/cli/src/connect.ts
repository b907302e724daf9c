import { createDb, sql, type Db } from "@pulse/db";
import { connectNats, NatsAuthError, redactNatsUrl, type NatsConnection } from "@pulse/nats";
import { CliError } from "./cli-error";
import type { CliConfig } from "./config";
import type { CliIo } from "./io";

/** The database URL without its password, for messages. */
const shown = (url: string) => {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
};

/**
 * Opens a small pool and checks it answers (and has Pulse's tables), so that an unreachable
 * database is one clear message, not a stack trace from the first query.
 */
export async function openDb(config: CliConfig): Promise<Db> {
  const db = createDb({ url: config.databaseUrl, poolMax: 2, applicationName: "pulse-cli", queryTimeoutMs: 120_000 });
  try {
    await sql`SELECT 1 FROM dead_letters LIMIT 0`.execute(db.db);
    return db;
  } catch (err) {
    await db.close().catch(() => {});
    const why = (err as Error)?.message || String(err);
    if ((err as { code?: string }).code === "42P01") {
      throw new CliError(
        `the database at ${shown(config.databaseUrl)} has no Pulse tables (${why}): run pnpm db:migrate, or start ingest once`,
        1,
        { cause: err },
      );
    }
    const hint =
      config.databaseFrom === "env"
        ? "check DATABASE_URL and that Postgres is running"
        : config.databaseFrom === "start"
          ? `it is the database of pnpm start pid ${config.start.pid} (${config.start.path}): is it still starting or stopping?`
          : `DATABASE_URL is not set and ${startState(config)}: start Pulse (pnpm start), or set DATABASE_URL=postgres://…`;
    throw new CliError(`cannot reach the database at ${shown(config.databaseUrl)}: ${why}. ${hint}`, 1, { cause: err });
  }
}

/** Connects to NATS, or fails with what to do. */
export async function openNats(config: CliConfig, name: string): Promise<NatsConnection> {
  try {
    return await connectNats(config.natsUrl, name, { ...config.natsAuth, timeoutMs: 10_000 });
  } catch (err) {
    if (err instanceof NatsAuthError) throw new CliError(err.message, 1, { cause: err });
    throw new CliError(`cannot reach NATS: ${(err as Error).message} (set NATS_URL if it runs elsewhere)`, 1, { cause: err });
  }
}

/** "no pnpm start is running (…)" in words, for messages. */
function startState(config: CliConfig): string {
  const s = config.start;
  return s.pid === null ? `no pnpm start is running (no ${s.path})` : `the pnpm start recorded in ${s.path} (pid ${s.pid}) is gone`;
}

/**
 * For the commands that write (`publish`, `dlq retry` into NATS; `replay` into Postgres): prints
 * the server they will write into, and refuses when it would only be the default address (no
 * variable set, no running start): never into an ambient server by accident.
 */
export function announceWriteTarget(io: CliIo, config: CliConfig, into: "nats" | "database"): void {
  const from = into === "nats" ? config.natsFrom : config.databaseFrom;
  const variable = into === "nats" ? "NATS_URL" : "DATABASE_URL";
  const where = into === "nats" ? `NATS ${redactNatsUrl(config.natsUrl)}` : `Postgres ${hostOf(config.databaseUrl)}`;
  if (from === "default") {
    throw new CliError(
      `${variable} is not set and ${startState(config)}: nothing says where to write. Start Pulse (pnpm start), or set ${variable} to the server to write into.`,
    );
  }
  const why = from === "env" ? variable : `pnpm start pid ${config.start.pid}, ${config.start.path}`;
  io.stderr.write(`writing into ${where} (${why})\n`);
}

const hostOf = (url: string) => {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return "(unparsable URL)";
  }
};
