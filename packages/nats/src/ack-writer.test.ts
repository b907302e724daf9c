import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { sharedNatsUrl, uniqueTag } from "@pulse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { AckWriter } from "./ack-writer";
import { connectNats } from "./connect-nats";

let nc: NatsConnection;
let sink: NatsConnection;
beforeAll(async () => {
  nc = await connectNats(sharedNatsUrl(), "ack-writer");
  sink = await connectNats(sharedNatsUrl(), "ack-writer-sink");
});
afterAll(async () => {
  await nc?.close();
  await sink?.close();
});

/** Everything published under `prefix.>` as (subject, body), in arrival order, until `n` came. */
async function collect(prefix: string, n: number, send: () => void): Promise<[string, string][]> {
  const got: [string, string][] = [];
  let done: () => void = () => {};
  const all = new Promise<void>((r) => (done = r));
  const sub = sink.subscribe(`${prefix}.>`, {
    callback: (_err, m: Msg) => {
      got.push([m.subject, m.string()]);
      if (got.length === n) done();
    },
  });
  await sink.flush();
  send();
  await Promise.race([all, new Promise((r) => setTimeout(r, 5_000))]);
  sub.unsubscribe();
  return got;
}

it("writes what publish would: every body, to every subject, in order, in one write per flush", async () => {
  const prefix = uniqueTag("acks");
  const w = new AckWriter(nc);
  const bodies = ["+ACK", "+TERM", "+WPI", "-NAK"] as const;
  // Ack subjects as nats-server writes them, and enough to outgrow the first buffer (64 KiB).
  const subjects = Array.from(
    { length: 3_000 },
    (_, i) => `${prefix}.$JS.ACK.FEEDS_egov.ingest_egov.1.${i + 1}.${i + 1}.1764200000000000000.${3_000 - i}`,
  );
  const published = nc.stats().outMsgs;
  const got = await collect(prefix, subjects.length, () => subjects.forEach((s, i) => w.send(s, bodies[i % 4]!)));
  expect(got).toEqual(subjects.map((s, i) => [s, bodies[i % 4]]));
  // Written as raw protocol, not through publish (which counts each message).
  expect(nc.stats().outMsgs).toBe(published);
});

it("hands acknowledgements written in one tick to the connection by the end of it, without an explicit flush", async () => {
  const prefix = uniqueTag("acks");
  const w = new AckWriter(nc);
  const got = await collect(prefix, 2, () => {
    w.send(`${prefix}.a`, "+ACK");
    w.send(`${prefix}.b`, "+ACK");
  });
  expect(got).toEqual([
    [`${prefix}.a`, "+ACK"],
    [`${prefix}.b`, "+ACK"],
  ]);
});

it("leaves a subject that is not plain ASCII to the library, which encodes it", async () => {
  const prefix = uniqueTag("acks");
  const w = new AckWriter(nc);
  const published = nc.stats().outMsgs;
  const got = await collect(prefix, 3, () => {
    w.send(`${prefix}.before`, "+ACK");
    w.send(`${prefix}.trạm-Nghệ-An`, "+TERM");
    w.send(`${prefix}.after`, "-NAK");
    w.flush();
  });
  expect(got.sort()).toEqual(
    [
      [`${prefix}.after`, "-NAK"],
      [`${prefix}.before`, "+ACK"],
      [`${prefix}.trạm-Nghệ-An`, "+TERM"],
    ].sort(),
  );
  expect(nc.stats().outMsgs).toBe(published + 1);
});

it("goes through publish on a client without the protocol handler it writes to", async () => {
  const prefix = uniqueTag("acks");
  // The same real connection, seen without `protocol` (as a client that keeps none would be).
  const bare = new Proxy(nc, {
    get: (target, key) => {
      if (key === "protocol") return undefined;
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  const w = new AckWriter(bare);
  const published = nc.stats().outMsgs;
  const got = await collect(prefix, 2, () => {
    w.send(`${prefix}.a`, "+ACK");
    w.send(`${prefix}.b`, "-NAK");
    w.flush();
  });
  expect(got).toEqual([
    [`${prefix}.a`, "+ACK"],
    [`${prefix}.b`, "-NAK"],
  ]);
  expect(nc.stats().outMsgs).toBe(published + 2);
});

it("refuses on a closed connection, as publish does", async () => {
  const own = await connectNats(sharedNatsUrl(), "ack-writer-closed");
  const w = new AckWriter(own);
  await own.close();
  expect(() => w.send("x.y", "+ACK")).toThrow();
  expect(() => w.flush()).not.toThrow();
});
