import { describe, expect, it } from "vitest";
import { ConfigError } from "@pulse/config";
import { loadStartConfig, simulatorDecision } from "../scripts/start-config";

describe("pnpm start: when the simulator runs", () => {
  it("runs by default only on its own embedded Postgres and its own nats-server", () => {
    expect(simulatorDecision(null, true, true).on).toBe(true);
    expect(simulatorDecision(null, false, true)).toEqual({ on: false, why: expect.stringContaining("DATABASE_URL is set") });
    expect(simulatorDecision(null, true, false)).toEqual({
      on: false,
      why: expect.stringContaining("NATS_URL is set"),
    });
    expect(simulatorDecision(null, false, false).why).toContain("DATABASE_URL is set and NATS_URL is set");
  });

  it("PULSE_SIMULATE=1|0 overrides, and says so", () => {
    expect(simulatorDecision(loadStartConfig({ PULSE_SIMULATE: "1" }).simulate, false, false)).toEqual({
      on: true,
      why: "PULSE_SIMULATE=1",
    });
    expect(simulatorDecision(loadStartConfig({ PULSE_SIMULATE: "0" }).simulate, true, true)).toEqual({
      on: false,
      why: "PULSE_SIMULATE=0",
    });
    expect(loadStartConfig({}).simulate).toBeNull();
    expect(() => loadStartConfig({ PULSE_SIMULATE: "yes" })).toThrow(ConfigError);
    expect(() => loadStartConfig({ EMBEDDED_PG_PORT: "99999" })).toThrow(/EMBEDDED_PG_PORT/);
    expect(() => loadStartConfig({ PULSE_NATS_PORT: "0" })).toThrow(/PULSE_NATS_PORT/);
    expect(loadStartConfig({}).natsPort).toBe(4222);
    expect(loadStartConfig({}).natsUrl).toBeUndefined();
  });
});
