import { consumerName, reasonCodes } from "@pulse/contracts";
import { sql } from "@pulse/db";
import { feedStream, Puller } from "@pulse/nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestHarness, make, type Harness } from "./test-harness";

let h: Harness;
beforeAll(async () => {
  h = await ingestHarness("bad", { config: { maxDeliver: 2, ackWaitMs: 1_000 } });
});
afterAll(async () => {
  await h?.close();
});

const good = (id: string) => make.egov(`${id}:received`, "received");

/** Runs `body` while a trigger makes Postgres refuse rows of `table` as `plpgsql` (IF … RAISE …) says. */
async function refusing(table: string, name: string, plpgsql: string, body: () => Promise<void>): Promise<void> {
  await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN ${plpgsql} RETURN NEW; END $$`).execute(h.db.db);
  await sql.raw(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`).execute(h.db.db);
  try {
    await body();
  } finally {
    await sql.raw(`DROP TRIGGER ${name} ON ${table}`).execute(h.db.db);
  }
}

describe("bad input", () => {
  it("dead-letters each bad class with its reason, tells the producer, and commits the good messages of the same batch", async () => {
    await h.stopIngest(); // so that good and bad land in the same batches
    const before = await h.figures();
    const cases: [string, string, Parameters<Harness["publish"]>[2], string][] = [
      ["egov", "dvc", "this is not json", "bad_json"],
      ["egov", "dvc", new Uint8Array([0xff, 0xfe, 0x7b]), "bad_json"],
      ["egov", "dvc", "[1,2]", "bad_json"],
      ["egov", "dvc", { id: "x1", data: { procedure: "p" } }, "bad_shape"],
      ["egov", "dvc", { ...good("x2"), revision: -1 }, "bad_shape"],
      ["egov", "dvc", { ...good("x3"), id: "nul\u0000byte" }, "bad_shape"],
      // Lone surrogates, as JSON.parse makes them from an escaped "\ud800" (JSON.stringify writes
      // that escape). Postgres would store both ids as "a\uFFFD": the first would be counted a
      // duplicate and never aggregated, and the two together would sink their batch (SQLSTATE 21000).
      ["egov", "dvc", { ...good("x17"), id: "a\uD800" }, "bad_shape"],
      ["egov", "dvc", { ...good("x18"), id: "a\uDBFF" }, "bad_shape"],
      ["egov", "dvc", { ...good("x19"), data: { ...good("x19").data, agency: "ubnd-\uDC00" } }, "bad_shape"],
      ["subscribers", "viettel", make.subscribers("x4", "mobile", 1e10), "bad_shape"],
      ["subscribers", "viettel", make.subscribers("x5", "mobile", 1.5), "bad_shape"],
      ["subscribers", "viettel", { ...make.subscribers("x6", "mobile", 5), v: 2 }, "bad_shape"],
      ["egov", "dvc", { ...good("x7"), source: "viettel" }, "source_mismatch"],
      [
        "egov",
        "dvc",
        JSON.stringify({ ...good("x8"), v: 1, source: "dvc", ts: "2026-11-26T09:15:00+07:00", area: "16681", pad: "x".repeat(70_000) }),
        "too_large",
      ],
      ["egov", "dvc", { ...good("x9"), ts: "2026-11-26T09:15:00" }, "bad_time"],
      ["egov", "dvc", { ...good("x10"), ts: "2026-11-26 09:15:00+07:00" }, "bad_time"],
      // An offset Postgres would refuse (its range is ±15:59): our reason, not db_rejected.
      ["egov", "dvc", { ...good("x20"), ts: "2026-11-26T09:15:00+16:00" }, "bad_time"],
      // A revision no int column holds: refused, and its dead letter must store (it once failed
      // with "integer out of range" and took the good messages of its batch with it).
      ["egov", "dvc", { ...good("x21"), revision: 3_000_000_000 }, "bad_shape"],
      ["egov", "dvc", { ...good("x22"), revision: -3_000_000_000 }, "bad_shape"],
      ["egov", "dvc", { ...good("x11"), ts: 1764123300 as unknown as string }, "bad_shape"],
      ["egov", "dvc", { ...good("x12"), ts: new Date(Date.now() + 3_600_000).toISOString() }, "future_time"],
      ["egov", "dvc", { ...good("x13"), area: "999" }, "unknown_area"],
      ["subscribers", "viettel", { ...make.subscribers("x14", "mobile", 5), area: "40" }, "unknown_area"],
      ["egov", "hacker", { ...good("x15"), source: "hacker" }, "unknown_source"],
      ["esign", "viettel", { ...make.esign("x16", true), source: "viettel" }, "feed_not_allowed"],
    ];
    // A good message between each bad one.
    let n = 0;
    for (const [feed, source, body] of cases) {
      await h.publish(feed, source, body, { msgId: false });
      await h.publish("egov", "dvc", good(`ok-${n++}`));
    }
    await h.startIngest();
    await h.settle();

    const letters = (
      await sql<{
        reason: string;
        subject: string;
        detail: string;
        payload: Buffer;
      }>`SELECT reason, subject, detail, payload FROM dead_letters ORDER BY received_at, id`.execute(h.db.db)
    ).rows;
    // Each feed commits on its own: compare as sets of (subject, reason).
    expect(letters.map((l) => `${l.subject} ${l.reason}`).sort()).toEqual(cases.map((c) => `feeds.${c[0]}.${c[1]} ${c[3]}`).sort());
    for (const l of letters) {
      expect(l.detail.length).toBeGreaterThan(5);
      expect(l.payload.length).toBeGreaterThan(0);
    }
    // Every code used is a known one.
    for (const l of letters) expect(reasonCodes).toContain(l.reason);
    // The producer heard about each, on its own rejects subject.
    await new Promise((r) => setTimeout(r, 200));
    // Rejects go out per feed after each commit: compare as sets of (subject, reason).
    const told = h.rejects.map((r) => `${r.body.subject} ${r.body.reason}`).sort();
    expect(told).toEqual(cases.map((c) => `feeds.${c[0]}.${c[1]} ${c[3]}`).sort());
    expect(h.rejects.find((r) => r.body.reason === "future_time")!.subject).toBe(`${h.names.rejectsPrefix}.dvc`);
    expect(h.rejects.find((r) => r.body.reason === "source_mismatch")!.body.id).toBe("x7:received");
    // Each lone-surrogate id got its own dead letter (stored with the payload as sent) and its
    // own reject, which carries the id as the producer wrote it.
    expect(letters.filter((l) => l.payload.toString().includes('"id":"a\\ud800"'))).toEqual([
      expect.objectContaining({ reason: "bad_shape", detail: expect.stringMatching(/^field id is not well-formed Unicode/) }),
    ]);
    const lone = h.rejects.filter((r) => /^field (id|data\.agency) is not well-formed Unicode/.test(String(r.body.detail)));
    expect(lone.map((r) => r.body.id).sort()).toEqual(["a\uD800", "a\uDBFF", "x19:received"]);
    // The good ones all counted; nothing else changed.
    const after = await h.figures();
    expect(after.egov.find((r) => r.grain === "day")!.count).toBe(cases.length);
    expect(after.subscribers).toEqual(before.subscribers);
    // Terminated at once: none came back for another delivery.
    const red = await h.ingest!.metrics.redeliveries.get();
    expect(red.values.reduce((s, v) => s + v.value, 0)).toBe(0);
    const dl = await h.ingest!.metrics.deadLetters.get();
    expect(dl.values.reduce((s, v) => s + v.value, 0)).toBe(cases.length);
  });

  it("dead-letters an id a source reuses across feeds", async () => {
    await h.publish("subscribers", "viettel", make.subscribers("shared-id", "mobile", 7));
    await h.settle();
    // Each feed has its own stream, so JetStream's duplicate window cannot see it: ingest does.
    await h.publish("bts", "viettel", make.bts("shared-id", "NA-1", "up"));
    await h.settle();
    expect((await h.figures()).deadLetters).toContainEqual({ reason: "id_conflict", n: 1 });
    expect(await h.count("bts_stations")).toBe(0);

    // Two revisions of the reused id in one batch: both refused and both told, none acked silently.
    await h.stopIngest();
    const told = h.rejects.length;
    await h.publish("bts", "viettel", make.bts("shared-id", "NA-1", "up", { revision: 1 }), { msgId: false });
    await h.publish("bts", "viettel", make.bts("shared-id", "NA-1", "down", { revision: 2 }), { msgId: false });
    await h.startIngest();
    await h.settle();
    expect((await h.figures()).deadLetters).toContainEqual({ reason: "id_conflict", n: 3 });
    await new Promise((r) => setTimeout(r, 200));
    expect(h.rejects.slice(told).map((r) => [r.body.reason, r.body.revision])).toEqual(
      expect.arrayContaining([
        ["id_conflict", 1],
        ["id_conflict", 2],
      ]),
    );
    expect(await h.count("bts_stations")).toBe(0);
  });

  it("isolates a message the database refuses and commits the rest of its batch", async () => {
    // A real refusal from Postgres: a trigger that raises a data exception for one id.
    await refusing(
      "events",
      "refuse_poison",
      `IF NEW.id = 'poison:received' THEN RAISE EXCEPTION 'poisoned row' USING ERRCODE = '22023'; END IF;`,
      async () => {
        await h.stopIngest();
        const before = (await h.figures()).egov.find((r) => r.grain === "day")!.count as number;
        for (let i = 0; i < 20; i++) await h.publish("egov", "dvc", good(i === 13 ? "poison" : `batch-${i}`));
        await h.startIngest();
        await h.settle();
        expect((await h.figures()).egov.find((r) => r.grain === "day")!.count).toBe(before + 19);
        const l = (
          await sql<{
            reason: string;
            event_id: string;
            detail: string;
          }>`SELECT reason, event_id, detail FROM dead_letters WHERE reason = 'db_rejected'`.execute(h.db.db)
        ).rows;
        expect(l).toEqual([{ reason: "db_rejected", event_id: "poison:received", detail: expect.stringContaining("poisoned row") }]);
      },
    );
  });

  it("never blames a good message when the database refuses a dead letter beside it", async () => {
    // A dead letter Postgres refuses (a trigger standing in for any unforeseen refusal).
    await refusing(
      "dead_letters",
      "refuse_letter",
      `IF NEW.event_id = 'dl-bad' THEN RAISE EXCEPTION 'refused letter' USING ERRCODE = '22023'; END IF;`,
      async () => {
        await h.stopIngest();
        await h.publish("egov", "dvc", { ...good("x"), id: "dl-bad", area: "999" }, { msgId: false });
        await h.publish("egov", "dvc", good("fine"));
        await h.startIngest();
        await h.settle();
        expect(await h.count("events", "id = 'fine:received'")).toBe(1);
        const l = (
          await sql<{
            reason: string;
            event_id: string | null;
          }>`SELECT reason, event_id FROM dead_letters WHERE position('dl-bad'::bytea in payload) > 0`.execute(h.db.db)
        ).rows;
        expect(await h.count("dead_letters", "event_id LIKE 'fine%'")).toBe(0);
        // Stored once more without the id read from its payload.
        expect(l).toEqual([{ reason: "unknown_area", event_id: null }]);
      },
    );
  });

  it("dead-letters a message that reaches its max deliveries", async () => {
    await h.stopIngest();
    await h.publish("egov", "dvc", good("never-settled"));
    // A broken consumer takes it twice (max deliveries 2) and never settles it.
    const p = new Puller(h.nc, {
      stream: feedStream(h.names, "egov"),
      consumer: consumerName("egov", h.names.consumerPrefix),
      batchSize: 1,
      ackWaitMs: 60_000,
    });
    p.start();
    let deliveries = 0;
    for (const until = Date.now() + 15_000; deliveries < 2 && Date.now() < until;) {
      for (const m of await p.nextBatch(2_000)) deliveries = Math.max(deliveries, m.deliveryCount);
    }
    expect(deliveries).toBe(2);
    p.pause();
    await new Promise((r) => setTimeout(r, 1_500)); // past the ack wait: JetStream gives up
    await h.startIngest();
    const until = Date.now() + 10_000;
    while ((await h.count("dead_letters", "reason = 'max_deliveries'")) === 0 && Date.now() < until)
      await new Promise((r) => setTimeout(r, 100));
    const l = (
      await sql<{ event_id: string; subject: string }>`SELECT event_id, subject FROM dead_letters WHERE reason = 'max_deliveries'`.execute(
        h.db.db,
      )
    ).rows;
    expect(l).toEqual([{ event_id: "never-settled:received", subject: "feeds.egov.dvc" }]);
    expect(h.rejects.some((r) => r.body.reason === "max_deliveries")).toBe(true);
    await p.close();
  });

  it("commits the good messages even when a dead letter cannot be stored at all", async () => {
    // Refused whatever its fields, until it comes from the max-deliveries advisory.
    // Refused as data (22023), or with a plain RAISE (P0001, which we class as a bug): neither may
    // hold up anything else.
    await refusing(
      "dead_letters",
      "refuse_hard",
      `
      IF position('dl-hard'::bytea in NEW.payload) > 0 AND NEW.reason <> 'max_deliveries' THEN RAISE EXCEPTION 'refused letter' USING ERRCODE = '22023'; END IF;
      IF position('dl-plain'::bytea in NEW.payload) > 0 AND NEW.reason <> 'max_deliveries' THEN RAISE EXCEPTION 'refused plainly'; END IF;
      IF NEW.event_id = 'dl-id' THEN RAISE EXCEPTION 'refused id' USING ERRCODE = '22023'; END IF;
      IF NEW.event_id = 'dl-pid' THEN RAISE EXCEPTION 'refused id plainly'; END IF;
    `,
      async () => {
        await h.publish("subscribers", "viettel", make.subscribers("dl-hard", "mobile", 1));
        await h.publish("subscribers", "viettel", make.subscribers("dl-id", "mobile", 1));
        await h.publish("subscribers", "viettel", make.subscribers("dl-pid", "mobile", 1));
        await h.settle();
        await h.stopIngest();
        // Beside it: another refused message whose dead letter stores, and good ones; in bts, an
        // id_conflict whose dead letter cannot be stored, beside a good reading.
        await h.publish("egov", "dvc", { ...good("x"), id: "dl-hard", area: "999" }, { msgId: false });
        await h.publish("egov", "dvc", "this is not json at all", { msgId: false });
        await h.publish("egov", "dvc", "not json either, dl-plain", { msgId: false });
        await h.publish("egov", "dvc", good("fine2"));
        await h.publish("bts", "viettel", make.bts("dl-hard", "NA-9000", "up"), { msgId: false });
        await h.publish("bts", "viettel", make.bts("fine-bts", "NA-9001", "up"));
        // An id_conflict whose id the database refuses: stored without it, keeping its reason.
        await h.publish("bts", "viettel", make.bts("dl-id", "NA-9002", "up"), { msgId: false });
        // The same refused with a plain RAISE (P0001), beside a bad message whose reject must be told.
        await h.publish("bts", "viettel", "bts not json", { msgId: false });
        await h.publish("bts", "viettel", make.bts("dl-pid", "NA-9003", "up"), { msgId: false });
        const told = h.rejects.length;
        await h.startIngest();
        await h.settle();
        expect(await h.count("events", "id IN ('fine2:received', 'fine-bts')")).toBe(2);
        expect(await h.count("dead_letters", "reason = 'bad_json' AND position('not json at all'::bytea in payload) > 0")).toBe(1);
        const conflict = (
          await sql<{
            reason: string;
            event_id: string | null;
          }>`SELECT reason, event_id FROM dead_letters WHERE position('"dl-id"'::bytea in payload) > 0`.execute(h.db.db)
        ).rows;
        expect(conflict).toEqual([{ reason: "id_conflict", event_id: null }]);
        const plain = (
          await sql<{
            reason: string;
            event_id: string | null;
          }>`SELECT reason, event_id FROM dead_letters WHERE position('"dl-pid"'::bytea in payload) > 0`.execute(h.db.db)
        ).rows;
        expect(plain).toEqual([{ reason: "id_conflict", event_id: null }]);
        await new Promise((r) => setTimeout(r, 200));
        expect(h.rejects.slice(told).map((r) => `${r.body.subject} ${r.body.reason}`)).toContain("feeds.bts.viettel bad_json");
        // The refused one comes back until its max deliveries (2 here), then is dead-lettered so.
        for (const until = Date.now() + 15_000; Date.now() < until;) {
          if (
            (await h.count(
              "dead_letters",
              "position('\"dl-hard\"'::bytea in payload) > 0 OR position('dl-plain'::bytea in payload) > 0",
            )) >= 3
          )
            break;
          await new Promise((r) => setTimeout(r, 200));
        }
        const l = (
          await sql<{
            reason: string;
            subject: string;
          }>`SELECT reason, subject FROM dead_letters WHERE position('"dl-hard"'::bytea in payload) > 0 OR position('dl-plain'::bytea in payload) > 0 OR event_id LIKE 'fine%' ORDER BY subject`.execute(
            h.db.db,
          )
        ).rows;
        expect(l).toEqual([
          { reason: "max_deliveries", subject: "feeds.bts.viettel" },
          { reason: "max_deliveries", subject: "feeds.egov.dvc" },
          { reason: "max_deliveries", subject: "feeds.egov.dvc" },
        ]);
      },
    );
  });
});
