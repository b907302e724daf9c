import { JetStreamApiCodes, JetStreamApiError, jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { sharedNatsUrl, uniqueTag } from "@pulse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openScratchStream, type ScratchStream } from "./scratch-stream";
import { getStoredMessage, isNoMessageFound } from "./stored-message";

const tag = uniqueTag("stored");
let scratch: ScratchStream;
let nc: NatsConnection;
let jsm: JetStreamManager;
let stream: string;

beforeAll(async () => {
  scratch = await openScratchStream(sharedNatsUrl(), "stored", tag);
  ({ nc, jsm, stream } = scratch);
  const js = jetstream(nc);
  await js.publish(scratch.subject, "one");
  await js.publish(scratch.subject, "two");
  await jsm.streams.deleteMessage(stream, 1);
});
afterAll(async () => {
  await scratch?.close();
});

describe("getStoredMessage", () => {
  it("returns the message the stream holds", async () => {
    const m = await getStoredMessage(jsm, stream, 2);
    expect(new TextDecoder().decode(m!.data)).toBe("two");
  });

  it("returns null only when the stream no longer holds the sequence (no message found)", async () => {
    expect(await getStoredMessage(jsm, stream, 1)).toBeNull(); // deleted
    expect(await getStoredMessage(jsm, stream, 99)).toBeNull(); // never there
  });

  it("rejects on any other failure, which says nothing about the message", async () => {
    const missing = await getStoredMessage(jsm, `NO_SUCH_${tag}`, 1).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Error);
    expect(isNoMessageFound(missing)).toBe(false);
    // Nothing answers on this API prefix: what a client sees while JetStream is unavailable.
    const silent = await jetstreamManager(nc, { apiPrefix: `$JS.${tag}.API`, checkAPI: false });
    const down = await getStoredMessage(silent, stream, 2).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(Error);
    expect(isNoMessageFound(down)).toBe(false);
  });
});

describe("isNoMessageFound", () => {
  it("is true for JetStream API error 10037 only", () => {
    const apiError = (err_code: number, description: string) => new JetStreamApiError({ code: 404, err_code, description });
    expect(isNoMessageFound(apiError(JetStreamApiCodes.NoMessageFound, "no message found"))).toBe(true);
    expect(isNoMessageFound(apiError(JetStreamApiCodes.StreamNotFound, "stream not found"))).toBe(false);
    expect(isNoMessageFound(new Error("no message found"))).toBe(false);
    expect(isNoMessageFound(new Error("TIMEOUT"))).toBe(false);
  });
});
