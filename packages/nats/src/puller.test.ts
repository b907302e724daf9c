import { AckPolicy, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { sharedNatsUrl, startNatsServer, uniqueTag } from "@pulse/testkit";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connectNats } from "./connect-nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAckSubject, Puller, type PullerOptions } from "./puller";
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
    for (const until = Date.now() + 12 * expiresMs; Date.now() < until;) {
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

/**
 * A stream of its own holding one message per size (each filled with its index), a durable
 * consumer `c` on it, and a started Puller with these options; all removed after `fn`.
 */
async function withLoadedPuller(
  prefix: string,
  sizes: (nc: NatsConnection) => number[],
  options: Omit<PullerOptions, "stream" | "consumer">,
  fn: (p: Puller) => Promise<void>,
): Promise<void> {
  const big = await openScratchStream(sharedNatsUrl(), prefix, uniqueTag(prefix));
  try {
    await big.jsm.consumers.add(big.stream, { durable_name: "c", ack_policy: AckPolicy.Explicit });
    const js = jetstream(big.nc);
    await Promise.all(sizes(big.nc).map((n, i) => js.publish(big.subject, new Uint8Array(n).fill(i))));
    const p = new Puller(big.nc, { stream: big.stream, consumer: "c", ...options });
    p.start();
    try {
      await fn(p);
    } finally {
      await p.close();
    }
  } finally {
    await big.close();
  }
}

it("holds no more payload than its byte budget (plus one max payload), and still gets every message through", async () => {
  // 30 messages of 300 KB and one as large as the server allows, against a 1 MB budget: by
  // count alone, one request of a batch of 100 would have taken them all (9 MB and more).
  let sizes: number[] = [];
  let maxPayload = 0;
  const budget = 1_000_000;
  const load = (nc: NatsConnection) => {
    maxPayload = nc.info!.max_payload;
    sizes = [...Array.from({ length: 15 }, () => 300_000), maxPayload - 1_000, ...Array.from({ length: 15 }, () => 300_000)];
    return sizes;
  };
  await withLoadedPuller("pullbytes", load, { batchSize: 100, maxHeldBytes: budget, lingerMs: 50 }, async (p) => {
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
  });
});

it("asks again once messages are given back, even when the byte budget had held its requests back", async () => {
  await withLoadedPuller(
    "pullgive",
    () => Array.from({ length: 40 }, () => 200_000),
    { batchSize: 10, maxHeldBytes: 3_000_000, lingerMs: 50 },
    async (p) => {
      // Two batches take the whole budget; handing them back must free it and reopen the tap.
      const taken = [...(await p.nextBatch(5_000)), ...(await p.nextBatch(5_000))];
      expect(taken.length).toBeGreaterThan(0);
      p.giveBack(taken);
      let got = 0;
      for (let i = 0; i < 4 && got === 0; i++) got += (await p.nextBatch(2_000)).length;
      expect(got).toBeGreaterThan(0);
    },
  );
});

it("gets a stored message larger than the server's max payload of today through, without a storm of requests", async () => {
  // Stored while the server allowed 8 MB, pulled after it was restarted with 1 MB: the room
  // a request leaves for one message (today's max payload) is too small for it.
  const conf = mkdtempSync(join(tmpdir(), "pulse-maxpayload-"));
  const large = join(conf, "large.conf"),
    small = join(conf, "small.conf");
  writeFileSync(large, "max_payload: 8388608\n");
  writeFileSync(small, "max_payload: 1048576\n");
  const store = join(conf, "store");
  let server = await startNatsServer({ storeDir: store, args: ["-c", large] });
  try {
    let nc = await connectNats(server.url, "test-maxpayload");
    const jsm0 = await jetstreamManager(nc);
    await jsm0.streams.add({ name: "BIG", subjects: ["big.x"], max_msg_size: -1 });
    await jsm0.consumers.add("BIG", { durable_name: "c", ack_policy: AckPolicy.Explicit });
    const js = jetstream(nc);
    await js.publish("big.x", new Uint8Array(1_000).fill(1));
    await js.publish("big.x", new Uint8Array(3_000_000).fill(2));
    await js.publish("big.x", new Uint8Array(1_000).fill(3));
    await nc.close();
    await server.stop();
    server = await startNatsServer({ storeDir: store, args: ["-c", small] });
    nc = await connectNats(server.url, "test-maxpayload");
    expect(nc.info!.max_payload).toBe(1_048_576);
    let requests = 0;
    const publish = nc.publish.bind(nc);
    nc.publish = (subject, ...rest) => {
      if (subject.startsWith("$JS.API.CONSUMER.MSG.NEXT.")) requests++;
      return publish(subject, ...rest);
    };
    const p = new Puller(nc, { stream: "BIG", consumer: "c", batchSize: 10, maxHeldBytes: 2_000_000, lingerMs: 50 });
    p.start();
    try {
      const got: number[] = [];
      for (let i = 0; i < 20 && got.length < 3; i++) {
        const batch = await p.nextBatch(1_000);
        // Held a while, as a batch at the database would be: the puller must wait, not hammer.
        await new Promise((r) => setTimeout(r, 300));
        got.push(...batch.map((m) => m.data[0]!));
        for (const m of batch) m.ack();
        p.settled(batch);
      }
      expect(got).toEqual([1, 2, 3]);
      expect(requests).toBeLessThan(30);
    } finally {
      await p.close();
      await nc.close();
    }
  } finally {
    await server.stop();
    rmSync(conf, { recursive: true, force: true });
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
