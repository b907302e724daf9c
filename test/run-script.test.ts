import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// scripts/run.sh, the README's one command, in its dry-run mode: what it would install on a
// machine that has this and lacks that (an injected lookup path of stub programs; never apt-get).
const root = resolve(import.meta.dirname, "..");
const pnpmWanted = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { packageManager: string }).packageManager.slice(5);
const tmp = mkdtempSync(join(tmpdir(), "pulse-run-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let n = 0;
/** A lookup directory holding the real node and stubs for the named programs (`name: script body`). */
function machine(stubs: Record<string, string>, withNode = true): string {
  const dir = join(tmp, `m${n++}`);
  mkdirSync(dir);
  if (withNode) symlinkSync(process.execPath, join(dir, "node"));
  for (const [name, body] of Object.entries(stubs)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), 0o755);
  }
  return dir;
}
function dryRun(lookup: string, env: Record<string, string> = {}) {
  const base = { ...process.env };
  delete base.NATS_URL;
  delete base.NATS_SERVER_BIN;
  const r = spawnSync("bash", ["scripts/run.sh", "--dry-run"], {
    cwd: root,
    env: { ...base, PULSE_RUN_LOOKUP: lookup, ...env },
    encoding: "utf8",
  });
  return { code: r.status, err: r.stderr.replaceAll(lookup, "<lookup>") };
}
const good = { "nats-server": "exit 0", pnpm: `echo ${pnpmWanted}`, npm: "echo /nonexistent", "apt-get": "exit 99", sudo: "exit 99" };

describe("scripts/run.sh on a machine that lacks something", () => {
  it("with everything there: installs nothing, and would exec the start", () => {
    const r = dryRun(machine(good));
    expect(r.err).toBe("pulse: would start: node --import tsx scripts/start.ts \n");
    expect(r.code).toBe(0);
  });

  it("as root without nats-server: apt-get installs it", () => {
    const { "nats-server": _, ...rest } = good;
    const r = dryRun(machine(rest), { PULSE_RUN_UID: "0" });
    expect(r.err).toContain("would run: <lookup>/apt-get update -q\n");
    expect(r.err).toContain(
      "would run: env DEBIAN_FRONTEND=noninteractive <lookup>/apt-get install -y -q --no-install-recommends nats-server\n",
    );
    expect(r.code).toBe(0);
  });

  it("NATS_URL set: a real NATS system, no nats-server needed", () => {
    const { "nats-server": _, ...rest } = good;
    const r = dryRun(machine(rest), { NATS_URL: "nats://10.0.0.5:4222" });
    expect(r.err).not.toContain("apt-get");
    expect(r.code).toBe(0);
  });

  it("a user with sudo: through sudo; without: stops with the one command to run", () => {
    const { "nats-server": _, ...rest } = good;
    const withSudo = dryRun(machine(rest), { PULSE_RUN_UID: "1000" });
    expect(withSudo.err).toContain("would run: <lookup>/sudo env DEBIAN_FRONTEND=noninteractive <lookup>/apt-get install -y");
    const { sudo: __, ...noSudo } = rest;
    const r = dryRun(machine(noSudo), { PULSE_RUN_UID: "1000" });
    expect(r.err).toBe(
      "pulse: cannot install as uid 1000 without sudo. Run this as root, then run scripts/run.sh again:\n  apt-get update && apt-get install -y nats-server\n",
    );
    expect(r.code).toBe(1);
  });

  it(`pnpm missing or not ${pnpmWanted}: npm i -g pnpm@${pnpmWanted}`, () => {
    const r = dryRun(machine({ ...good, pnpm: "echo 9.15.0" }), { PULSE_RUN_UID: "0" });
    expect(r.err).toContain(`would run: <lookup>/npm i -g pnpm@${pnpmWanted}\n`);
    const { pnpm: _, ...noPnpm } = good;
    expect(dryRun(machine(noPnpm), { PULSE_RUN_UID: "0" }).err).toContain(`would run: <lookup>/npm i -g pnpm@${pnpmWanted}\n`);
  });

  it("Node older than 20, or none: stops and says so", () => {
    const old = dryRun(machine({ ...good, node: "echo 18" }, false));
    expect(old.err).toMatch(/^pulse: Pulse needs Node.js 20 or newer \(found: <lookup>\/node 18\)/);
    expect(old.code).toBe(1);
    const none = dryRun(machine(good, false));
    expect(none.err).toMatch(/found: none/);
  });
});
