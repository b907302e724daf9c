import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@pulse/config";
import { msgId } from "@pulse/contracts";
import { connectNats, ensureStreams, feedStream, jetstreamManager, testStreamNames, withPrefix, type NatsConnection } from "@pulse/nats";
import { startNatsServer, uniqueTag, type NatsServer } from "@pulse/testkit";
import { Publisher } from "./publisher";

// A producer's publish through a broker restart: publishes that time out are retried with the
// same Msg-Id, so each record is stored exactly once, whatever landed before the outage.
describe("publisher through a broker restart (private nats-server)", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  const names = testStreamNames(uniqueTag("pub"));

  beforeAll(async () => {
    server = await startNatsServer();
    nc = await connectNats(server.url, "test-publisher");
    await ensureStreams(nc, { names });
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("stores every record once, with retries and no record lost or doubled", async () => {
    const p = new Publisher(nc, { inFlight: 128, timeoutMs: 400, maxAttempts: 60, log: createLogger("pub", "silent") });
    const subject = withPrefix(names, "feeds.esign.edoc");
    const n = 4_000;
    let outage: Promise<void> | null = null;
    for (let i = 0; i < n; i++) {
      if (i === 1_500) outage = server.down().then(() => new Promise((r) => setTimeout(r, 1_500)).then(() => server.up()));
      await p.publish({ subject, body: JSON.stringify({ i }), msgId: msgId("edoc", `d${i}`) });
    }
    await outage;
    await p.flush();
    expect(p.stats.failed).toBe(0);
    expect(p.stats.unexpectedDuplicates).toBe(0);
    expect(p.stats.retries).toBeGreaterThan(0);
    expect(p.stats.published).toBe(n);
    const info = await (await jetstreamManager(nc)).streams.info(feedStream(names, "esign"));
    expect(info.state.messages).toBe(n);
  });
});
