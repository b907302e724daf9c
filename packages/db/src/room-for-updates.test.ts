import { sql } from "kysely";
import { expect, it } from "vitest";
import { useScratchDb } from "./scratch-db";
import { upsertBtsStations } from "./sql/upsert-bts-stations";

const scratch = useScratchDb("room");

it("updates a station's row in place (HOT): the tables every batch rewrites leave room on their pages", async () => {
  const db = scratch.db.db;
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
  // Each round moves every station's reading on (its own transaction, so the old versions can go).
  for (let round = 1; round <= 4; round++) await upsertBtsStations(db, reading(round));
  await sql`SELECT pg_stat_force_next_flush()`.execute(db);
  const { upd, hot } = (
    await sql<{ upd: number; hot: number }>`SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables WHERE relname = 'bts_stations'`.execute(db)
  ).rows[0]!;
  expect(upd).toBe(4 * stations.length);
  // Packed full (the default), about half of these went to another page with new index entries.
  expect(hot / upd).toBeGreaterThan(0.95);
});
