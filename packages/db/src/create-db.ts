import { Kysely, PostgresDialect, type QueryResult, type RawBuilder } from "kysely";
import pg from "pg";
import type { Database } from "./database";

export interface DbConfig {
  /** postgres:// connection string. */
  url: string;
  /** Pool size. Default 4. */
  poolMax?: number;
  /** Name shown in pg_stat_activity. Default "pulse". */
  applicationName?: string;
  /** How long a query may go unanswered before it fails (a silent connection). Default 30,000 ms. */
  queryTimeoutMs?: number;
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

/** Statement texts that run as named prepared statements on a transaction's client, with their names. */
const preparedNames = new Map<string, string>();

/**
 * Runs a statement as a named prepared statement on the clients of `onClient` (elsewhere, as any
 * other): Postgres parses and plans it once per connection instead of once per batch, and after
 * five runs may keep a generic plan. Only for statements whose plan cannot turn on the data (no
 * join to choose) and whose text (as Kysely compiles it, values as $n) is fixed, so the names
 * stay few; at most 16, should a text ever vary, as each is kept on every connection for its
 * lifetime.
 */
export function executePrepared<R>(db: Kysely<Database>, query: RawBuilder<R>): Promise<QueryResult<R>> {
  const q = query.compile(db);
  if (!preparedNames.has(q.sql) && preparedNames.size < 16) preparedNames.set(q.sql, `pulse_${preparedNames.size + 1}`);
  return db.executeQuery(q);
}

/**
 * A Kysely whose every query runs on this one client, which it never releases (the caller owns
 * it): a transaction that manages its own BEGIN and COMMIT, and may have to destroy the client.
 * Statements run by `executePrepared` go as named statements.
 */
export function onClient(client: pg.PoolClient): Kysely<Database> {
  const query = (text: unknown, values?: unknown[]) => {
    const name = typeof text === "string" ? preparedNames.get(text) : undefined;
    return name ? client.query({ name, text: text as string, values }) : client.query(text as string, values);
  };
  const held = { query, release() {} } as unknown as pg.PoolClient;
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool: { connect: async () => held, end: async () => {} } }) });
}

/** Opens a pool and a Kysely instance over it. `close()` ends the pool. */
export function createDb(config: DbConfig): Db {
  const pool = new pg.Pool({
    connectionString: config.url,
    max: config.poolMax ?? 4,
    application_name: config.applicationName ?? "pulse",
    connectionTimeoutMillis: 5_000,
    // A cut connection must not hang a batch forever; the batch is retried when it comes back.
    query_timeout: config.queryTimeoutMs ?? 30_000,
    keepAlive: true,
    types,
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener that
  // would crash the process. Ingest notices the outage on its next query instead.
  pool.on("error", () => {});
  // The same for a client in use (a batch's transaction) whose server goes away: the query in
  // flight fails with the error, and the pool drops the client when it is released.
  pool.on("connect", (client) => client.on("error", () => {}));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    pool,
    async close() {
      await db.destroy();
    },
  };
}
