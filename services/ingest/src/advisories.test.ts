import { consumerName, subjects } from "@pulse/contracts";
import { sql } from "@pulse/db";
import { feedStream, jetstreamManager } from "@pulse/nats";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ingestHarness, type Harness } from "./test-harness";

let h: Harness;
beforeAll(async () => {
  h = await ingestHarness("adv");
});
afterAll(async () => {
  await h?.close();
});

/** Publishes a max-deliveries advisory as JetStream would, into the advisories stream. */
async function advise(stream: string, streamSeq: number): Promise<void> {
  const consumer = consumerName("egov", h.names.consumerPrefix);
  const subject = subjects.maxDeliveriesAdvisory(feedStream(h.names, "egov"), consumer);
  await h.js.publish(subject, JSON.stringify({ stream, consumer, stream_seq: streamSeq, deliveries: 5 }));
}

async function advisoryBacklog(): Promise<{ pending: number; ackPending: number }> {
  const info = await (await jetstreamManager(h.nc)).consumers.info(h.names.advisories, `${h.names.consumerPrefix}-advisories`);
  return { pending: info.num_pending, ackPending: info.num_ack_pending };
}

async function until(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !(await check());) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

it("dead-letters a message the stream no longer holds, and leaves an advisory it could not look up unacknowledged", async () => {
  const letters = () =>
    sql<{
      stream: string;
      stream_seq: number;
      subject: string;
      detail: string;
      recent: boolean;
    }>`SELECT stream, stream_seq, subject, detail, received_at > now() - interval '1 hour' AS recent FROM dead_letters`.execute(h.db.db);
  // Expired: JetStream answers "no message found" for a sequence the feed stream does not hold.
  await advise(feedStream(h.names, "egov"), 999);
  await until(async () => (await letters()).rows.length === 1);
  expect((await letters()).rows).toEqual([
    {
      stream: feedStream(h.names, "egov"),
      stream_seq: 999,
      subject: "(expired)",
      detail: expect.stringContaining("no longer in the stream"),
      // Dated when written (its receipt is unknown), so the retention does not prune it at once.
      recent: true,
    },
  ]);
  await until(async () => (await advisoryBacklog()).ackPending === 0);

  // Any other lookup error (here: a stream JetStream does not know) says nothing about the
  // message: no dead letter, and the advisory stays unacknowledged for a later retry, while an
  // advisory beside it is still handled.
  await advise(`NO_SUCH_${h.names.feeds}`, 7);
  await advise(feedStream(h.names, "egov"), 998);
  await until(async () => (await letters()).rows.length >= 2);
  await new Promise((r) => setTimeout(r, 300));
  expect((await letters()).rows.map((l) => l.stream_seq).sort()).toEqual([998, 999]);
  expect(await advisoryBacklog()).toEqual({ pending: 0, ackPending: 1 });
});

it("stores the other dead letters of a batch of advisories when the database refuses one", async () => {
  const letters = () =>
    sql<{ stream_seq: number }>`SELECT stream_seq FROM dead_letters WHERE stream_seq IN (501, 502, 503)`.execute(h.db.db);
  await sql`CREATE FUNCTION refuse_502() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN IF NEW.stream_seq = 502 THEN RAISE EXCEPTION 'refused letter' USING ERRCODE = '22023'; END IF; RETURN NEW; END $$`.execute(
    h.db.db,
  );
  await sql`CREATE TRIGGER refuse_502 BEFORE INSERT ON dead_letters FOR EACH ROW EXECUTE FUNCTION refuse_502()`.execute(h.db.db);
  try {
    await h.stopIngest(); // so that the three advisories come in one batch
    for (const seq of [501, 502, 503]) await advise(feedStream(h.names, "egov"), seq);
    const before = (await advisoryBacklog()).ackPending;
    await h.startIngest();
    await until(async () => (await letters()).rows.length === 2);
    await new Promise((r) => setTimeout(r, 300));
    expect((await letters()).rows.map((l) => l.stream_seq).sort()).toEqual([501, 503]);
    // Only the refused one waits for its retry.
    expect((await advisoryBacklog()).ackPending).toBe(before + 1);
  } finally {
    await sql`DROP TRIGGER refuse_502 ON dead_letters`.execute(h.db.db);
  }
});
