import { sql } from "kysely";
import { expect, it } from "vitest";
import { useScratchDb } from "./scratch-db";
import { insertDeadLetters } from "./sql/insert-dead-letters";
import { pruneDeadLetters } from "./sql/prune-dead-letters";

const scratch = useScratchDb("prune_dl");

it("deletes dead letters received before the retention horizon, in chunks, and nothing newer", async () => {
  const day = 86_400_000;
  const now = Date.now();
  // Received 40 days ago to today.
  const rows = Array.from({ length: 2_000 }, (_, i) => ({
    stream: "FEEDS_X",
    streamSeq: i + 1,
    receivedAt: new Date(now - 40 * day + Math.round((i + 0.5) * ((40 * day) / 2_000))),
    subject: "feeds.egov.dvc",
    source: "dvc",
    feed: "egov",
    eventId: `e${i}`,
    revision: 0,
    reason: "bad_json",
    detail: "not JSON",
    payload: new TextEncoder().encode("{nope"),
  }));
  await insertDeadLetters(scratch.db.db, rows);
  const old = rows.filter((r) => r.receivedAt.getTime() < now - 30 * day).length;
  expect(old).toBeGreaterThan(400);

  // The prune finds the expired rows through an index on receipt time, not by reading the table.
  const idx = await sql<{ indexdef: string }>`SELECT indexdef FROM pg_indexes WHERE tablename = 'dead_letters'`.execute(scratch.db.db);
  expect(idx.rows.some((r) => /\(received_at\)$/.test(r.indexdef))).toBe(true);

  let deleted = 0;
  for (let k = await pruneDeadLetters(scratch.db.db, 30 * day, 100); k > 0; k = await pruneDeadLetters(scratch.db.db, 30 * day, 100)) {
    expect(k).toBeLessThanOrEqual(100);
    deleted += k;
  }
  expect(deleted).toBe(old);
  const left = await sql<{ n: number; oldest: Date }>`SELECT count(*)::int AS n, min(received_at) AS oldest FROM dead_letters`.execute(
    scratch.db.db,
  );
  expect(left.rows[0]!.n).toBe(rows.length - old);
  expect(left.rows[0]!.oldest.getTime()).toBeGreaterThanOrEqual(now - 30 * day - 1_000);
});
