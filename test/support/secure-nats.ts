/**
 * A private nats-server running the repository's own `infra/nats/single-secure.conf` and
 * `permissions.conf`. The permission rules are copied byte for byte; only what must differ for a
 * test changes: the JetStream store (a temp dir instead of `.data/nats`), the monitoring port (a
 * free one instead of 8222), and the passwords (fresh random ones in nats-server's environment).
 */
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, startNatsServer, type NatsServer } from "@pulse/testkit";

export const natsDir = resolve(import.meta.dirname, "..", "..", "infra", "nats");

/** Every `$PULSE_NATS_<USER>` that permissions.conf reads, e.g. ["VIETTEL", …, "SYS"]. */
export function passwordVariables(): string[] {
  const text = readFileSync(join(natsDir, "permissions.conf"), "utf8");
  return [...new Set([...text.matchAll(/\$PULSE_NATS_([A-Z0-9_]+)/g)].map((m) => m[1]!))];
}

/**
 * Fresh random passwords, by lower-case user name (`viettel`, `ingest`, …). nats-server parses
 * an environment value as a config value, so one starting with a digit reads as a number (and
 * fails): each starts with a letter.
 */
export function freshPasswords(): Record<string, string> {
  return Object.fromEntries(passwordVariables().map((v) => [v.toLowerCase(), `p${randomBytes(12).toString("hex")}`]));
}

/** `{ PULSE_NATS_VIETTEL: …, … }` for nats-server's environment. */
export function passwordEnv(passwords: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(passwords).map(([u, p]) => [`PULSE_NATS_${u.toUpperCase()}`, p]));
}

export interface SecureNats {
  server: NatsServer;
  url: string;
  /** By user name. */
  passwords: Record<string, string>;
  stop(): Promise<void>;
}

export async function startSecureNats(): Promise<SecureNats> {
  const dir = mkdtempSync(join(tmpdir(), "pulse-secure-nats-"));
  copyFileSync(join(natsDir, "permissions.conf"), join(dir, "permissions.conf"));
  copyFileSync(join(natsDir, "single-secure.conf"), join(dir, "single-secure.conf"));
  const single = readFileSync(join(natsDir, "single.conf"), "utf8");
  // The launcher gives the store with -sd, which nats-server refuses beside a store_dir of the file.
  const patched = single.replace(/^\s*store_dir:.*$/m, "").replace(/^http:\s*\S+/m, `http: 127.0.0.1:${await freePort()}`);
  if (patched === single) throw new Error("single.conf changed shape: update test/support/secure-nats.ts");
  writeFileSync(join(dir, "single.conf"), patched);
  const passwords = freshPasswords();
  // The testkit's launcher hands its own environment to nats-server, and permissions.conf reads
  // the passwords from there. Only this test process (a vitest fork of its own) sees them.
  Object.assign(process.env, passwordEnv(passwords));
  const server = await startNatsServer({ args: ["-c", join(dir, "single-secure.conf")] });
  return {
    server,
    url: server.url,
    passwords,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
