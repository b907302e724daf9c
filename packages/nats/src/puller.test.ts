import { AckPolicy, jetstream, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { sharedNatsUrl, uniqueTag } from "@pulse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { Puller } from "./puller";
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
