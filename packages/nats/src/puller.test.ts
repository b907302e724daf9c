import { AckPolicy, jetstream, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { sharedNatsUrl, uniqueTag } from "@pulse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAckSubject, Puller } from "./puller";
import { openScratchStream, type ScratchStream } from "./scratch-stream";

const consumer = "idle";
let scratch: ScratchStream;
let nc: NatsConnection;
let jsm: JetStreamManager;
let stream: string;
let subject: string;

beforeAll(async () => {
  scratch = await openScratchStream(sharedNatsUrl(), "puller", uniqueTag("puller"));
  ({ nc, jsm, stream, subject } = scratch);
  await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.Explicit, max_waiting: 512 });
});
afterAll(async () => {
  await scratch?.close();
});

it("keeps one pull request open on an idle consumer across many expiries, and still delivers at once", async () => {
  // Short expiries: the timer reopens 50 ms before each, then the server's 408 for the old
  // request arrives. Were that 408 taken for the current request, every cycle would add one.
  const expiresMs = 200;
  const p = new Puller(nc, { stream, consumer, requestExpiresMs: expiresMs, batchSize: 10 });
  p.start();
  try {
    const waiting: number[] = [];
    for (const until = Date.now() + 12 * expiresMs; Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 37)); // not a divisor of the cycle: samples every phase
      waiting.push((await jsm.consumers.info(stream, consumer)).num_waiting);
    }
    // One request, two for the 50 ms its successor overlaps it.
    expect(Math.max(...waiting), `num_waiting over time: ${waiting.join(",")}`).toBeLessThanOrEqual(2);

    const sentAt = Date.now();
    await jetstream(nc).publish(subject, "hello");
    const batch = await p.nextBatch(2_000);
    expect(batch.map((m) => new TextDecoder().decode(m.data))).toEqual(["hello"]);
    expect(Date.now() - sentAt).toBeLessThan(expiresMs);
    for (const m of batch) m.ack();
    p.settled(batch);
  } finally {
    await p.close();
  }
});

it("holds no more payload than its byte budget (plus one max payload), and still gets every message through", async () => {
  const big = await openScratchStream(sharedNatsUrl(), "pullbytes", uniqueTag("pullbytes"));
  try {
    await big.jsm.consumers.add(big.stream, { durable_name: "c", ack_policy: AckPolicy.Explicit });
    const js = jetstream(big.nc);
    // 30 messages of 300 KB and one as large as the server allows, against a 1 MB budget: by
    // count alone, one request of a batch of 100 would have taken them all (9 MB and more).
    const maxPayload = big.nc.info!.max_payload;
    const sizes = [...Array.from({ length: 15 }, () => 300_000), maxPayload - 1_000, ...Array.from({ length: 15 }, () => 300_000)];
    await Promise.all(sizes.map((n, i) => js.publish(big.subject, new Uint8Array(n).fill(i))));
    const budget = 1_000_000;
    const p = new Puller(big.nc, { stream: big.stream, consumer: "c", batchSize: 100, maxHeldBytes: budget, lingerMs: 50 });
    p.start();
    try {
      const got: number[] = [];
      let most = 0;
      while (got.length < sizes.length) {
        const batch = await p.nextBatch(5_000);
        expect(batch.length, `stuck after ${got.length} messages`).toBeGreaterThan(0);
        most = Math.max(most, p.heldBytes);
        got.push(...batch.map((m) => m.data.length));
        // Settle slowly, as a database would: the puller must not fill up meanwhile.
        await new Promise((r) => setTimeout(r, 100));
        most = Math.max(most, p.heldBytes);
        for (const m of batch) m.ack();
        p.settled(batch);
      }
      expect(got).toEqual(sizes);
      expect(most).toBeGreaterThan(0);
      expect(most).toBeLessThanOrEqual(budget + maxPayload + 64 * 1024);
      expect(p.heldBytes).toBe(0);
    } finally {
      await p.close();
    }
  } finally {
    await big.close();
  }
});

describe("parseAckSubject", () => {
  // The former reading, by splitting, kept as the reference.
  const reference = (reply: string) => {
    const t = reply.split(".");
    const at = t.length === 9 ? 4 : t.length >= 12 ? 6 : -1;
    if (t[0] !== "$JS" || t[1] !== "ACK" || at < 0) return null;
    const ns = t[at + 3]!;
    return { deliveryCount: Number(t[at]), streamSeq: Number(t[at + 1]), timestampMs: ns.length > 6 ? Number(ns.slice(0, -6)) : 0 };
  };

  it("reads both reply forms as splitting did, and refuses what is not an ack subject", () => {
    const replies = [
      "$JS.ACK.FEEDS_EGOV.ingest-egov.1.123456.654321.1764118500123456789.42",
      "$JS.ACK.FEEDS_EGOV.ingest-egov.3.7.9.1764118500123456789.0",
      "$JS.ACK.hub.ACCHASH.FEEDS_EGOV.ingest-egov.2.123456.654321.1764118500123456789.42.RANDOM",
      "$JS.ACK.hub.ACCHASH.FEEDS_EGOV.ingest-egov.2.123456.654321.1764118500123456789.42",
      "$JS.ACK.S.C.1.2.3.999.0",
      "$JS.ACK.S.C.1.2.3.4",
      "$JS.ACK.S.C.1.2.3.4.5.6",
      "$JS.NAK.S.C.1.2.3.4.5",
      "_INBOX.abc.1",
      "",
      "$JS.ACK.",
    ];
    for (const r of replies) expect(parseAckSubject(r), r).toEqual(reference(r));
    expect(parseAckSubject(replies[0]!)).toEqual({ deliveryCount: 1, streamSeq: 123456, timestampMs: 1764118500123 });
    expect(parseAckSubject(replies[2]!)).toEqual({ deliveryCount: 2, streamSeq: 123456, timestampMs: 1764118500123 });
  });
});
