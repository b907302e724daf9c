import { createDb, sql, type Db } from "@pulse/db";
import { connectNats, NatsAuthError, type NatsConnection } from "@pulse/nats";
import { CliError } from "./cli-error";
import type { CliConfig } from "./config";

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
    const hint = config.databaseUrlSet
      ? "check DATABASE_URL and that Postgres is running"
      : "DATABASE_URL is not set, so the embedded Postgres of `pnpm start` was tried: start it, or set DATABASE_URL=postgres://…";
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
