import { describe, expect, it } from "vitest";
import { redactNatsUrl, splitNatsUrl } from "./nats-url";

describe("splitNatsUrl", () => {
  it("takes a user and password out of the URL", () => {
    expect(splitNatsUrl("nats://ingest:s3cret@host:4222")).toEqual({
      servers: ["nats://host:4222"],
      credentials: { user: "ingest", pass: "s3cret" },
    });
  });
  it("reads a lone user part as a token, and decodes escapes", () => {
    expect(splitNatsUrl("nats://t0k%40n@host:4222").credentials).toEqual({ token: "t0k@n" });
    expect(splitNatsUrl("nats://u:p%3Aq%40r@h:1").credentials).toEqual({ user: "u", pass: "p:q@r" });
  });
  it("keeps a plain list as it is, and one identity across a cluster's servers", () => {
    expect(splitNatsUrl("nats://a:4222, nats://b:4222")).toEqual({ servers: ["nats://a:4222", "nats://b:4222"], credentials: {} });
    expect(splitNatsUrl("nats://u:p@a:1,nats://b:2,nats://u:p@c:3")).toEqual({
      servers: ["nats://a:1", "nats://b:2", "nats://c:3"],
      credentials: { user: "u", pass: "p" },
    });
    expect(() => splitNatsUrl("nats://u:p@a:1,nats://v:q@b:2")).toThrow(/different credentials/);
  });
  it("takes the last @ of the authority (an unescaped @ inside a password)", () => {
    expect(splitNatsUrl("nats://u:p@ss@host:4222")).toEqual({ servers: ["nats://host:4222"], credentials: { user: "u", pass: "p@ss" } });
  });
  it("works without a scheme", () => {
    expect(splitNatsUrl("u:p@host:4222")).toEqual({ servers: ["host:4222"], credentials: { user: "u", pass: "p" } });
  });
});

describe("redactNatsUrl", () => {
  it("masks passwords and tokens, keeps users and hosts", () => {
    expect(redactNatsUrl("nats://ingest:s3cret@h1:4222,nats://h2:4223")).toBe("nats://ingest:***@h1:4222,nats://h2:4223");
    expect(redactNatsUrl("nats://tok@h:4222")).toBe("nats://***@h:4222");
    expect(redactNatsUrl("nats://u:p@ss@h:4222")).toBe("nats://u:***@h:4222");
    expect(redactNatsUrl("nats://127.0.0.1:4222")).toBe("nats://127.0.0.1:4222");
  });
});
