/**
 * Connecting with credentials against the repository's single-secure.conf: from options, from
 * the environment, from a URL (which nats.js v3 alone would ignore); a refusal says so, never
 * "install nats-server", and no message carries a secret.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readNatsAuth } from "@pulse/config";
import { loadConfig, startIngest } from "@pulse/ingest";
import { connectNats, jetstreamManager, NatsAuthError, NatsUnreachableError, nkeys } from "@pulse/nats";
import { freePort, startNatsServer, type NatsServer } from "@pulse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSecureNats, type SecureNats } from "./support/secure-nats";

let nats: SecureNats;
const dir = mkdtempSync(join(tmpdir(), "pulse-trust-connect-"));
beforeAll(async () => {
  nats = await startSecureNats();
});
afterAll(async () => {
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a refusal");
}

describe("connectNats with credentials", () => {
  it("connects as a user from NATS_USER / NATS_PASSWORD_FILE, with that user's inbox", async () => {
    const file = join(dir, "ingest.pw");
    writeFileSync(file, `${nats.passwords.ingest}\n`, { mode: 0o600 });
    const nc = await connectNats(nats.url, "t", readNatsAuth({ NATS_USER: "ingest", NATS_PASSWORD_FILE: file }));
    // Only ingest may call the JetStream API, and its answer comes to _INBOX_ingest (the only
    // inbox ingest may hear): this proves who the server took us for, and the inbox prefix.
    expect((await (await jetstreamManager(nc)).getAccountInfo()).streams).toBeGreaterThanOrEqual(0);
    await nc.close();
  });

  it("takes a user and password out of NATS_URL and passes them as options", async () => {
    const url = `nats://ingest:${encodeURIComponent(nats.passwords.ingest!)}@127.0.0.1:${nats.server.port}`;
    const nc = await connectNats(url, "t");
    expect((await (await jetstreamManager(nc)).getAccountInfo()).streams).toBeGreaterThanOrEqual(0);
    await nc.close();
  });

  it("says the credentials were refused, naming the user, never the password", async () => {
    const wrong = "p-not-the-password-0000";
    const err = await refusal(connectNats(nats.url, "t", { user: "ingest", pass: wrong }));
    expect(err).toBeInstanceOf(NatsAuthError);
    expect(err.message).toMatch(/refused the credentials of user "ingest"/);
    expect(err.message).not.toMatch(/install|no NATS server/);
    expect(err.message).not.toContain(wrong);
    const viaUrl = await refusal(connectNats(`nats://ingest:${wrong}@127.0.0.1:${nats.server.port}`, "t"));
    expect(viaUrl).toBeInstanceOf(NatsAuthError);
    expect(viaUrl.message).toContain(`nats://ingest:***@127.0.0.1:${nats.server.port}`);
    expect(viaUrl.message).not.toContain(wrong);
  });

  it("says credentials are wanted when none were given", async () => {
    const err = await refusal(connectNats(nats.url, "t"));
    expect(err).toBeInstanceOf(NatsAuthError);
    expect(err.message).toMatch(/wants credentials and none were given .*: set NATS_USER/);
  });

  it("ingest refuses to start with a wrong password, and says why", async () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://127.0.0.1:1/none",
      NATS_URL: nats.url,
      NATS_USER: "ingest",
      NATS_PASSWORD: "p-wrong-1",
    });
    const err = await refusal(startIngest(config));
    expect(err).toBeInstanceOf(NatsAuthError);
    expect(err.message).not.toContain("p-wrong-1");
  });

  it("an unreachable server's message carries no password", async () => {
    const port = await freePort();
    const err = await refusal(connectNats(`nats://ingest:p-secret-2@127.0.0.1:${port}`, "t", { timeoutMs: 2_000 }));
    expect(err).toBeInstanceOf(NatsUnreachableError);
    expect(err.message).toContain(`nats://ingest:***@127.0.0.1:${port}`);
    expect(err.message).not.toContain("p-secret-2");
  });
});

describe("NATS_CREDS with an nkey seed", () => {
  let server: NatsServer;
  const user = nkeys.createUser();
  beforeAll(async () => {
    const conf = join(dir, "nkey.conf");
    writeFileSync(conf, `authorization { users: [ { nkey: ${user.getPublicKey()} } ] }\n`);
    server = await startNatsServer({ args: ["-c", conf] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("connects with the seed file, and is refused with another key", async () => {
    const seedFile = join(dir, "user.nk");
    writeFileSync(seedFile, new TextDecoder().decode(user.getSeed()) + "\n", { mode: 0o600 });
    const nc = await connectNats(server.url, "t", readNatsAuth({ NATS_CREDS: seedFile }));
    await nc.flush();
    await nc.close();
    const other = join(dir, "other.nk");
    writeFileSync(other, new TextDecoder().decode(nkeys.createUser().getSeed()));
    const err = await refusal(connectNats(server.url, "t", readNatsAuth({ NATS_CREDS: other })));
    expect(err).toBeInstanceOf(NatsAuthError);
    expect(err.message).toContain(`the key in ${other}`);
  });
});
