import { sql } from "kysely";
import { expect, it } from "vitest";
import { useScratchDb } from "./scratch-db";
import { pruneEvents } from "./sql/changes";
import { upsertEvents } from "./sql/upsert-events";

const scratch = useScratchDb("prune");

it("deletes raw events received before the retention horizon, in chunks, and nothing newer", async () => {
  const day = 86_400_000;
  const now = Date.now();
  // Received 100 days ago to today, in receipt order as ingest writes them, a few pages' worth.
  const rows = Array.from({ length: 3_000 }, (_, i) => ({
    source: "dvc",
    id: `r${String(i).padStart(5, "0")}`,
    revision: 0,
    ts: new Date(now - 100 * day + Math.round((i + 0.5) * ((100 * day) / 3_000))).toISOString(),
    area: "412",
    data: { procedure: "p", agency: "a", level: "district", channel: "online_full", status: "received" },
    receivedMs: now - 100 * day + Math.round((i + 0.5) * ((100 * day) / 3_000)),
    streamSeq: i + 1,
  }));
  await upsertEvents(scratch.db.db, "egov", rows);
  const old = rows.filter((r) => r.receivedMs < now - 90 * day).length;
  expect(old).toBeGreaterThan(200);

  let deleted = 0;
  for (let k = await pruneEvents(scratch.db.db, 90 * day, 100); k > 0; k = await pruneEvents(scratch.db.db, 90 * day, 100)) {
    expect(k).toBeLessThanOrEqual(100);
    deleted += k;
  }
  expect(deleted).toBe(old);
  const left = await sql<{ n: number; oldest: Date }>`SELECT count(*)::int AS n, min(received_at) AS oldest FROM events`.execute(
    scratch.db.db,
  );
  expect(left.rows[0]!.n).toBe(rows.length - old);
  expect(left.rows[0]!.oldest.getTime()).toBeGreaterThanOrEqual(now - 90 * day - 1_000);
});
