import { describe, expect, it } from "vitest";
import { defaultStreamNames, testStreamNames } from "@pulse/nats";
import { loadConfig } from "./config";

describe("exporter config", () => {
  const base = { DATABASE_URL: "postgres://127.0.0.1/pulse" };
  it("watches the streams PULSE_NAMESPACE names, as ingest and the gateway do", () => {
    expect(loadConfig(base).names).toEqual(defaultStreamNames);
    expect(loadConfig({ ...base, PULSE_NAMESPACE: "soak_x" }).names).toEqual(testStreamNames("soak_x"));
  });
});
