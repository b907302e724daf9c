import { expect, it } from "vitest";
import { onClient } from "./create-db";
import { useScratchDb } from "./scratch-db";
import { upsertEvents, type EventInput } from "./sql/upsert-events";

const scratch = useScratchDb("upsert_events");

const row = (id: string, revision: number, streamSeq: number, status = "received"): EventInput => ({
  source: "dvc",
  id,
  revision,
  ts: "2026-11-27T08:00:00.123456+07:00",
  area: "412",
  data: { procedure: "p1", agency: "ubnd-xa", level: "commune", channel: "online_full", status },
  receivedMs: Date.parse("2026-11-27T01:00:01Z"),
  streamSeq,
});

it("answers per input row, in input order: new, restated with the replaced version, or nothing for a duplicate", async () => {
  const db = scratch.db.db;
  expect(await upsertEvents(db, "egov", [row("a", 0, 1), row("b", 2, 2), row("c", 0, 3)])).toEqual([
    { inserted: true, prev: null },
    { inserted: true, prev: null },
    { inserted: true, prev: null },
  ]);
  // a: the same revision again; b: a lower one; c: a higher one; d: new. Sorted by id, as ingest sends them.
  const answer = await upsertEvents(db, "egov", [row("a", 0, 10), row("b", 1, 11), row("c", 1, 12, "resolved_on_time"), row("d", 0, 13)]);
  expect(answer).toHaveLength(4);
  expect(answer[0]).toBeUndefined();
  expect(answer[1]).toBeUndefined();
  expect(answer[2]).toEqual({ inserted: false, prev: { revision: 0, ts: expect.any(String), area: "412", data: row("c", 0, 3).data } });
  // Postgres's own text, in the session's zone, microseconds kept.
  expect(answer[2]!.prev!.ts).toMatch(/\.123456[+-]\d\d/);
  expect(Date.parse(answer[2]!.prev!.ts)).toBe(Date.parse("2026-11-27T01:00:00.123Z"));
  expect(answer[3]).toEqual({ inserted: true, prev: null });
  // The same id in another feed changes nothing here (ingest dead-letters it as id_conflict).
  expect(await upsertEvents(db, "esign", [row("a", 5, 20)])).toEqual([undefined]);
});

it("refuses two rows of one stream sequence, which could not be told apart in the answer", async () => {
  await expect(upsertEvents(scratch.db.db, "egov", [row("x", 0, 7), row("y", 0, 7)])).rejects.toThrow(/stream sequence/);
});

it("runs prepared on a transaction's client, one fixed text whatever the batch", async () => {
  const client = await scratch.db.pool.connect();
  try {
    const db = onClient(client);
    // How many statements this connection holds prepared by Pulse.
    const preparedCount = async () =>
      (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'pulse\\_%'")).rows[0]!.n;
    await upsertEvents(db, "egov", [row("p1", 0, 101)]);
    const after = await preparedCount();
    await upsertEvents(db, "egov", [row("p2", 0, 102), row("p3", 0, 103), row("p4", 0, 104)]);
    await upsertEvents(db, "subscribers", [row("p5", 0, 105)]);
    expect(await preparedCount()).toBe(after);
    const prepared = await client.query<{ name: string }>(
      "SELECT name FROM pg_prepared_statements WHERE statement LIKE '%INSERT INTO events%'",
    );
    expect(prepared.rows.map((r) => r.name)).toEqual([expect.stringMatching(/^pulse_\d+$/)]);
  } finally {
    client.release();
  }
});
