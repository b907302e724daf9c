import { describe, expect, it } from "vitest";
import { ConfigError } from "@pulse/config";
import { parseCli } from "./cli-args";
import { loadConfig } from "./config";

describe("pnpm simulate flags", () => {
  it("each flag alone overrides the environment", () => {
    const env = { SIMULATOR_RATE: "2", SIMULATOR_SEED: "5" };
    expect(loadConfig(env, parseCli(["--rate", "50"]).overrides).rate).toBe(50);
    expect(loadConfig(env, parseCli(["--rate", "50"]).overrides).seed).toBe(5);
    expect(loadConfig(env, parseCli(["--seed", "9"]).overrides).seed).toBe(9);
    expect(loadConfig(env, parseCli(["--duration", "30"]).overrides).durationS).toBe(30);
    expect(loadConfig(env, parseCli(["--no-backfill"]).overrides).backfill).toBe(false);
    const f = loadConfig(
      env,
      parseCli(["--duplicates", "0.1", "--malformed", "0.01", "--silent", "viettel:60", "--silent", "dvc", "--flood", "5000"]).overrides,
    ).faults;
    expect(f).toMatchObject({
      duplicates: 0.1,
      malformed: 0.01,
      flood: 5000,
      silent: [
        { source: "viettel", forMs: 60_000 },
        { source: "dvc", forMs: null },
      ],
    });
  });

  it("refuses bad values with the flag's name", () => {
    expect(() => parseCli(["--duplicates", "2"])).toThrow(ConfigError);
    expect(() => parseCli(["--rate", "fast"])).toThrow(/--rate/);
    expect(() => parseCli(["--bogus"])).toThrow();
    expect(() => loadConfig({ SIMULATOR_RATE: "0" })).toThrow(/SIMULATOR_RATE/);
  });
});
