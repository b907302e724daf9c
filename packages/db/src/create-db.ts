import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "./database";

export interface DbConfig {
  /** postgres:// connection string. */
  url: string;
  /** Pool size. Default 4; the embedded Postgres takes 1 (it is one session). */
  poolMax?: number;
  /** Name shown in pg_stat_activity. Default "pulse". */
  applicationName?: string;
}

export interface Db {
  db: Kysely<Database>;
  pool: pg.Pool;
  close(): Promise<void>;
}

// int8 (counts, sequences) as numbers: every figure Pulse keeps stays far below 2^53.
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

/** Opens a pool and a Kysely instance over it. `close()` ends the pool. */
export function createDb(config: DbConfig): Db {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolMax ?? 4,
    application_name: config.applicationName ?? "pulse",
    connectionTimeoutMillis: 5_000,
    // A cut connection must not hang a batch forever; the batch is retried when it comes back.
    query_timeout: 30_000,
    keepAlive: true,
    types,
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process. Ingest notices the outage on its next query instead.
  pool.on("error", () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    async close() {
      await db.destroy();
    },
  };
}
