import { sql } from "kysely";
import { expect, it } from "vitest";
import { createDb } from "./create-db";
import { useScratchDb } from "./scratch-db";
import { changeLogLock, changesToRelay, inFeedTransaction, insertChanges, lockSpace, maxChangeBytes, splitChanges } from "./sql/changes";

const scratch = useScratchDb("changes", 4);

const count = async (table = "changes") =>
  (await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table)}`.execute(scratch.db.db)).rows[0]!.n;

it("writes entries as they are, whatever they hold, with ids in input order", async () => {
  const awkward = [
    "it's",
    "back\\slash",
    "\\'both\\''",
    "dấu tiếng Việt",
    "\u0000 and \u2028",
    "$$ $tag$ E'x'",
    "'; DROP TABLE changes; --",
  ];
  const rows = awkward.map((agency, n) => ({ metric: "esign_day", entries: [{ key: { agency }, value: n }] }));
  const ids = await insertChanges(scratch.db.db, rows);
  expect(ids).toHaveLength(rows.length);
  expect([...ids].sort((a, b) => a - b)).toEqual(ids);
  const stored = (await changesToRelay(scratch.db.db, "test", ids[0]! - 1, 100)).rows;
  expect(stored.map((r) => [r.id, r.metric, JSON.parse(r.entries)])).toEqual(rows.map((r, i) => [ids[i], r.metric, r.entries]));
  // And in time order: each row's time is read after the one before it got its id.
  const times = stored.map((r) => r.created_at.getTime());
  expect([...times].sort((a, b) => a - b)).toEqual(times);
});

it("commits a batch's change-log rows with it, and none when the batch fails", async () => {
  const before = await count();
  const done = await inFeedTransaction(scratch.db, 2, async () => ({
    results: "ok",
    log: [
      { metric: "feed", entries: [{ key: { source: "edoc" }, value: 1 }] },
      { metric: "feed", entries: [] },
    ],
  }));
  expect(done).toMatchObject({ results: "ok", changes: 1 });
  expect(await count()).toBe(before + 1);

  await expect(
    inFeedTransaction(scratch.db, 2, async (trx) => {
      await sql`INSERT INTO feed_status (source, feed, last_received_at) VALUES ('edoc', 'esign', now())`.execute(trx);
      throw new Error("the batch failed");
    }),
  ).rejects.toThrow("the batch failed");
  expect(await count("feed_status")).toBe(0);

  // A change-log row the database refuses (json it cannot read is impossible from here, so a
  // trigger stands for it): the batch's other writes are rolled back too, and the pooled
  // connection comes back usable, with no transaction left open.
  await sql`CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = '22023'; END $$`.execute(
    scratch.db.db,
  );
  await sql`CREATE TRIGGER refuse_change BEFORE INSERT ON changes FOR EACH ROW EXECUTE FUNCTION refuse_change()`.execute(scratch.db.db);
  try {
    await expect(
      inFeedTransaction(scratch.db, 2, async (trx) => {
        await sql`INSERT INTO feed_status (source, feed, last_received_at) VALUES ('edoc', 'esign', now())`.execute(trx);
        return { log: [{ metric: "feed", entries: [1] }] };
      }),
    ).rejects.toThrow("refused");
  } finally {
    await sql`DROP TRIGGER refuse_change ON changes`.execute(scratch.db.db);
  }
  expect(await count("feed_status")).toBe(0);
  const open = await Promise.all(
    [1, 2, 3, 4].map(() =>
      scratch.db.db
        .connection()
        .execute(async (c) => (await sql<{ s: string }>`SELECT pg_current_xact_id_if_assigned()::text AS s`.execute(c)).rows[0]!.s),
    ),
  );
  expect(open).toEqual([null, null, null, null]);
});

it("hands out change ids in commit order: the change-log lock is taken before any id is drawn", async () => {
  // Another writer holds the change-log lock (as a batch of another feed would, from its lock to
  // its COMMIT). A batch committing meanwhile must wait for it, and must not draw its ids before
  // it: the holder's rows, written after, would get larger ids yet commit first, and the relay
  // (reading `id > cursor`) would pass over the waiting batch's rows for good.
  const before = await count();
  const holder = scratch.db.db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${lockSpace}::int, ${changeLogLock}::int)`.execute(trx);
    await new Promise((r) => setTimeout(r, 50));
    waiting = inFeedTransaction(scratch.db, 1, async () => ({ log: [{ metric: "feed", entries: ["waiting"] }] }));
    await new Promise((r) => setTimeout(r, 300));
    expect(await count()).toBe(before); // it waits
    return (await insertChanges(trx, [{ metric: "feed", entries: ["holder"] }]))[0]!;
  });
  let waiting: Promise<{ changes: number }> | undefined;
  const holderId = await holder;
  await waiting;
  const { rows } = await changesToRelay(scratch.db.db, "test", 0, 1_000);
  const waitingId = rows.find((r) => r.entries === '["waiting"]')!.id;
  expect(waitingId).toBeGreaterThan(holderId);
});

it("never lets a connection whose ROLLBACK failed serve again (the next COMMIT would commit half a batch)", async () => {
  // A statement outlives the query timeout (a row lock held elsewhere); the ROLLBACK queued
  // behind it times out too, so the server-side transaction is still open on that connection.
  const slow = createDb({ url: scratch.url, poolMax: 1, queryTimeoutMs: 500 });
  await sql`CREATE TABLE half (batch text)`.execute(scratch.db.db);
  await sql`INSERT INTO feed_status (source, feed, last_received_at) VALUES ('dvc', 'egov', now())`.execute(scratch.db.db);
  try {
    await scratch.db.db.transaction().execute(async (holder) => {
      await sql`SELECT * FROM feed_status WHERE source = 'dvc' FOR UPDATE`.execute(holder);
      const failed = inFeedTransaction(slow, 3, async (trx) => {
        await sql`INSERT INTO half VALUES ('A')`.execute(trx);
        await sql`UPDATE feed_status SET events = events + 1 WHERE source = 'dvc'`.execute(trx);
        return { log: [{ metric: "feed", entries: ["A"] }] };
      });
      await expect(failed).rejects.toThrow(/timeout/i);
      // The failed batch's backend is ended too: the row lock is still held elsewhere, yet the
      // feed's next batch gets the feed lock at once (the backend would otherwise hold it).
      await inFeedTransaction(slow, 3, async (trx) => {
        await sql`INSERT INTO half VALUES ('B')`.execute(trx);
        return { log: [] };
      });
    });
    // And a batch of another feed, on the same one-connection pool, commits only itself.
    await inFeedTransaction(slow, 2, async (trx) => {
      await sql`INSERT INTO half VALUES ('C')`.execute(trx);
      return { log: [] };
    });
    expect((await sql<{ batch: string }>`SELECT batch FROM half ORDER BY batch`.execute(scratch.db.db)).rows).toEqual([
      { batch: "B" },
      { batch: "C" },
    ]);
    expect((await sql<{ events: number }>`SELECT events FROM feed_status WHERE source = 'dvc'`.execute(scratch.db.db)).rows).toEqual([
      { events: 0 },
    ]);
  } finally {
    await slow.close();
    await sql`DELETE FROM feed_status`.execute(scratch.db.db);
  }
});

it("fails a batch whose transaction a swallowed error aborted, rather than report it committed", async () => {
  await expect(
    inFeedTransaction(scratch.db, 0, async (trx) => {
      await sql`SELECT 1 / 0`.execute(trx).catch(() => {});
      return { log: [] };
    }),
  ).rejects.toThrow(/aborted/);
});

it("survives the server ending the session of a batch in progress", async () => {
  const failed = inFeedTransaction(scratch.db, 1, async (trx) => {
    const pid = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(trx)).rows[0]!.pid;
    await sql`SELECT pg_terminate_backend(${pid})`.execute(scratch.db.db);
    await new Promise((r) => setTimeout(r, 200)); // the 'error' event arrives while the client is still out
    await sql`SELECT 1`.execute(trx);
    return { log: [] };
  });
  await expect(failed).rejects.toThrow();
  expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(scratch.db.db)).rows).toEqual([{ one: 1 }]);
});

it("spreads a metric's entries over several rows when they would not fit one NATS message", async () => {
  // A batch of 2,000 restatements that each move a record to another day and agency, with the
  // longest agency names the contract allows, in Vietnamese: 4,000 day keys, about 1.2 MB of
  // entries, past NATS's 1 MiB max_payload.
  const agency = "Ủy ban nhân dân xã ".repeat(7).slice(0, 128);
  const entries = Array.from({ length: 4_000 }, (_, n) => ({
    key: {
      day: `2026-${String(1 + (n % 12)).padStart(2, "0")}-01`,
      source: "dvc",
      agency: `${n}${agency}`.slice(0, 128),
      level: "commune",
      channel: "online_full",
      status: "received",
      area: "412",
    },
    value: n,
  }));
  expect(Buffer.byteLength(JSON.stringify(entries))).toBeGreaterThan(1_048_576);

  const before = await count();
  const done = await inFeedTransaction(scratch.db, 3, async () => ({
    results: null,
    log: [
      { metric: "egov_day", entries },
      { metric: "egov_minute", entries: [{ key: { minute: "2026-11-27T01:00:00.000Z" }, value: 7 }] },
    ],
  }));
  expect(done.changes).toBeGreaterThan(5);
  expect(await count()).toBe(before + done.changes);
  const rows = (await changesToRelay(scratch.db.db, "split-test", 0, 10_000)).rows.slice(-done.changes);
  for (const r of rows) expect(Buffer.byteLength(r.entries)).toBeLessThanOrEqual(maxChangeBytes);
  // In order: the first metric's entries exactly, then the second metric's row.
  expect(rows.slice(0, -1).every((r) => r.metric === "egov_day")).toBe(true);
  expect(rows.slice(0, -1).flatMap((r) => JSON.parse(r.entries))).toEqual(entries);
  expect(rows.at(-1)!.metric).toBe("egov_minute");

  // Small rows stay whole; empty ones are not written; one entry larger than the cap goes alone.
  expect(
    splitChanges([
      { metric: "feed", entries: [1, 2] },
      { metric: "feed", entries: [] },
    ]).map((x) => x.json),
  ).toEqual(["[1,2]"]);
  expect(splitChanges([{ metric: "m", entries: ["a".repeat(30), "b", "c".repeat(30)] }], 40).map((x) => x.json)).toEqual([
    `["${"a".repeat(30)}","b"]`,
    `["${"c".repeat(30)}"]`,
  ]);
  expect(splitChanges([{ metric: "m", entries: ["a".repeat(50), "b"] }], 40).map((x) => x.json)).toEqual([
    `["${"a".repeat(50)}"]`,
    `["b"]`,
  ]);
});
