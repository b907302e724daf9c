import { sql, type Kysely } from "kysely";

// Rows held in an area that was not in force on their own date (districts' codes dated after
// 2025-07-01, written by the simulator and decoder before the map of 2025 was in seeds), moved
// aside by `pulse areas retired`: kept whole, as JSON, out of every figure. See docs/operations.md.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE retired_rows (
      id          bigserial   PRIMARY KEY,
      -- events, subscriber_gauges, bts_stations, esign_counts or egov_counts
      table_name  text        NOT NULL,
      area        text        NOT NULL,
      -- The row's own UTC+7 day (its reading's, or its bucket's), on which the area was not in force.
      day         date        NOT NULL,
      row         json        NOT NULL,
      retired_at  timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX retired_rows_table_area ON retired_rows (table_name, area)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS retired_rows`.execute(db);
}
