import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config";

const base = { DATABASE_URL: "postgres://postgres@127.0.0.1:5432/x" };

describe("loadConfig", () => {
  it("defaults: open access, ports 8080 and 9466, 100 ms ticks", () => {
    const c = loadConfig(base);
    expect(c.tokens).toBeNull();
    expect(c.origins).toBeNull();
    expect([c.port, c.adminPort, c.tickMs]).toEqual([8080, 9466, 100]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("tokens from LIVE_TOKENS and LIVE_TOKENS_FILE (lines or commas, # comments), together", () => {
    const dir = mkdtempSync(join(tmpdir(), "live-tokens-"));
    const file = join(dir, "tokens");
    writeFileSync(file, "# viewer tokens\nwall-1\nwall-2, wall-3  # hall B\n\n");
    expect(loadConfig({ ...base, LIVE_TOKENS: " a , b,," }).tokens).toEqual(["a", "b"]);
    expect(loadConfig({ ...base, LIVE_TOKENS_FILE: file }).tokens).toEqual(["wall-1", "wall-2", "wall-3"]);
    expect(loadConfig({ ...base, LIVE_TOKENS: "a", LIVE_TOKENS_FILE: file }).tokens).toEqual(["a", "wall-1", "wall-2", "wall-3"]);
  });

  it("refuses what would silently lock everyone out or is not a number, naming the variable", () => {
    const dir = mkdtempSync(join(tmpdir(), "live-tokens-"));
    const empty = join(dir, "empty");
    writeFileSync(empty, "# nothing\n");
    expect(() => loadConfig({ ...base, LIVE_TOKENS_FILE: empty })).toThrow(/LIVE_TOKENS_FILE/);
    expect(() => loadConfig({ ...base, LIVE_TOKENS_FILE: join(dir, "missing") })).toThrow(/LIVE_TOKENS_FILE: cannot read/);
    expect(() => loadConfig({ ...base, LIVE_TOKENS: ",," })).toThrow(/LIVE_TOKENS/);
    expect(() => loadConfig({ ...base, LIVE_TICK_MS: "fast" })).toThrow(/LIVE_TICK_MS/);
    expect(() => loadConfig({})).toThrow(/DATABASE_URL/);
  });

  it("LIVE_ORIGINS is a list", () => {
    expect(loadConfig({ ...base, LIVE_ORIGINS: "https://a.vn,https://b.vn" }).origins).toEqual(["https://a.vn", "https://b.vn"]);
  });
});
