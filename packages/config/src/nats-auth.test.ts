import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError } from "./env-reader";
import { readNatsAuth } from "./nats-auth";

const dir = mkdtempSync(join(tmpdir(), "pulse-nats-auth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const seed = "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4";

describe("readNatsAuth", () => {
  it("is empty when nothing is set", () => {
    expect({ ...readNatsAuth({}) }).toEqual({});
  });
  it("reads a user and password, with the user's own inbox prefix", () => {
    expect({ ...readNatsAuth({ NATS_USER: "ingest", NATS_PASSWORD: " pa ss " }) }).toEqual({
      user: "ingest",
      pass: " pa ss ",
      inboxPrefix: "_INBOX_ingest",
    });
    expect(readNatsAuth({ NATS_USER: "ingest", NATS_PASSWORD: "x", NATS_INBOX_PREFIX: "_INBOX_other" }).inboxPrefix).toBe("_INBOX_other");
  });
  it("reads the password from a file's first line", () => {
    const p = file("pw", "from-file\n");
    expect(readNatsAuth({ NATS_USER: "live", NATS_PASSWORD_FILE: p }).pass).toBe("from-file");
  });
  it("takes a creds or nkey seed file", () => {
    const p = file("user.nk", `${seed}\n`);
    expect({ ...readNatsAuth({ NATS_CREDS: p }) }).toEqual({ credsFile: p });
  });
  it("names the variable, never the secret, when something is wrong", () => {
    const bad: [Record<string, string>, string][] = [
      [{ NATS_PASSWORD: "hunter2" }, "NATS_USER"],
      [{ NATS_USER: "u" }, "NATS_PASSWORD"],
      [{ NATS_USER: "u", NATS_PASSWORD: "hunter2", NATS_PASSWORD_FILE: file("p2", "hunter2") }, "NATS_PASSWORD_FILE"],
      [{ NATS_USER: "u", NATS_PASSWORD_FILE: join(dir, "missing") }, "NATS_PASSWORD_FILE"],
      [{ NATS_USER: "u", NATS_PASSWORD_FILE: file("empty", "\n") }, "NATS_PASSWORD_FILE"],
      [{ NATS_CREDS: file("junk", "hunter2") }, "NATS_CREDS"],
      [{ NATS_CREDS: join(dir, "missing.creds") }, "NATS_CREDS"],
      [{ NATS_USER: "u", NATS_PASSWORD: "hunter2", NATS_CREDS: file("s2", seed) }, "NATS_CREDS"],
      [{ NATS_USER: "a b", NATS_PASSWORD: "hunter2" }, "NATS_USER"],
    ];
    for (const [env, variable] of bad) {
      let err: unknown;
      try {
        readNatsAuth(env);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(variable);
      expect((err as Error).message).not.toContain("hunter2");
    }
  });
  it("masks the password when logged or inspected, and spreads without the masks", () => {
    const auth = readNatsAuth({ NATS_USER: "ingest", NATS_PASSWORD: "hunter2" });
    expect(JSON.stringify({ auth })).not.toContain("hunter2");
    expect(JSON.stringify({ auth })).toContain('"pass":"***"');
    expect(inspect(auth)).not.toContain("hunter2");
    expect(Object.keys({ ...auth })).toEqual(["user", "pass", "inboxPrefix"]);
  });
});
