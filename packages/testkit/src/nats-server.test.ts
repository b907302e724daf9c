import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { connectNats, jetstream, jetstreamManager } from "@pulse/nats";
import { startNatsServer, type NatsServer } from "./nats-server";
import { uniqueTag } from "./unique-tag";

describe("startNatsServer", () => {
  let server: NatsServer | undefined;
  afterAll(() => server?.stop());

  it("starts, takes a JetStream publish and keeps the stream across a restart on the same port", async () => {
    server = await startNatsServer();
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    const stream = uniqueTag("S");

    let nc = await connectNats(server.url, "testkit-test");
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    const ack = await jetstream(nc).publish(`${stream}.x`, "hello");
    expect(ack.seq).toBe(1);
    await nc.close();

    const { port, storeDir } = server;
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.storeDir).toBe(storeDir);
    expect(server.running).toBe(true);

    nc = await connectNats(server.url, "testkit-test");
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    expect(info.state.messages).toBe(1);
    await nc.close();

    await server.down();
    expect(server.running).toBe(false);
    await server.up();
    expect(server.running).toBe(true);

    await server.stop();
    expect(server.running).toBe(false);
    expect(existsSync(storeDir)).toBe(false);
  });

  it("passes extra args and reports a failed start with the server's words", async () => {
    await expect(startNatsServer({ args: ["--no-such-flag"], startTimeoutMs: 3_000 })).rejects.toThrow(/nats-server/);
  });
});
