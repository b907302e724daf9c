import { sql } from "kysely";
import { expect, it } from "vitest";
import { onClient } from "./create-db";
import * as roomForUpdates from "./migrations/2026-11-27T01-00-room-for-updates";
import { useScratchDb } from "./scratch-db";
import { upsertBtsStations } from "./sql/upsert-bts-stations";

const scratch = useScratchDb("room", 3);

it("updates a station's row in place (HOT): the tables every batch rewrites leave room on their pages", async () => {
  // One connection for all of it: a backend's statistics reach the view when it flushes them,
  // and pg_stat_force_next_flush() speaks for its own backend only.
  const client = await scratch.db.pool.connect();
  const db = onClient(client);
  const stations = Array.from({ length: 2_000 }, (_, i) => `NA-${i}`);
  const reading = (round: number) =>
    stations.map((station, i) => ({
      source: "viettel",
      station,
      tech: "4G",
      area: String(412 + (i % 21)),
      status: "up",
      ts: new Date(Date.UTC(2026, 10, 26, 2, round)).toISOString(),
      revision: 0,
      id: `${station}-${round}`,
    }));
  await upsertBtsStations(db, reading(0));
  // One more reading per station. (One round: a second one would need the first's old versions
  // pruned, which a transaction open anywhere else, such as another test's, can hold back.)
  await upsertBtsStations(db, reading(1));
  await sql`SELECT pg_stat_force_next_flush()`.execute(db);
  const { upd, hot } = (
    await sql<{
      upd: number;
      hot: number;
    }>`SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = 'bts_stations'`.execute(db)
  ).rows[0]!;
  client.release();
  expect(upd).toBe(stations.length);
  // Packed full (the default), nearly all of these went to another page with new index entries.
  expect(hot / upd).toBeGreaterThan(0.95);
});

it("does not hold the migrations (and every reader queued behind them) while a running ingest uses a table", async () => {
  // Another session inside a transaction on bts_stations, as a running ingest would be; it ends
  // on its own after 12 s.
  const other = await scratch.db.pool.connect();
  await other.query("BEGIN; SELECT * FROM bts_stations FOR UPDATE");
  const release = setTimeout(() => void other.query("COMMIT"), 12_000);
  try {
    const started = Date.now();
    await scratch.db.db.transaction().execute((trx) => roomForUpdates.up(trx as never));
    // Gave up on the busy table's rewrite after its lock wait (2 s), and went on with the rest.
    expect(Date.now() - started).toBeLessThan(8_000);
    const options = await sql<{ relname: string; reloptions: string[] | null }>`
      SELECT relname, reloptions FROM pg_class WHERE relname IN ('bts_stations', 'subscriber_gauges', 'feed_status') ORDER BY relname`.execute(
      scratch.db.db,
    );
    expect(options.rows).toEqual([
      { relname: "bts_stations", reloptions: ["fillfactor=50"] },
      { relname: "feed_status", reloptions: ["fillfactor=50"] },
      { relname: "subscriber_gauges", reloptions: ["fillfactor=50"] },
    ]);
  } finally {
    clearTimeout(release);
    await other.query("COMMIT");
    other.release();
  }
}, 30_000);
