import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPulse } from "@pulse/cli/testing";
import { loadConfig as ingestConfig, startIngest, type Ingest } from "@pulse/ingest";
import { createTestDatabase, type TestDatabase } from "@pulse/testkit";
import { startSecureNats, type SecureNats } from "./support/secure-nats";

// The CLI under the repository's own NATS permissions: a producer's engineer publishes with the
// producer's user (its own subjects and rejects, no JetStream API), the department's operators
// with the `cli` user.
describe("pulse with NATS credentials", () => {
  let nats: SecureNats;
  let database: TestDatabase;
  let ingest: Ingest;
  const as = (user: string) => ({ DATABASE_URL: database.url, NATS_URL: nats.url, NATS_USER: user, NATS_PASSWORD: nats.passwords[user]! });
  const rec = (id: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      v: 1,
      id,
      source: "dvc",
      ts: "2026-11-26T09:15:00+07:00",
      area: "16681",
      data: { procedure: "1.004227", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received" },
      ...extra,
    });
  beforeAll(async () => {
    nats = await startSecureNats();
    database = await createTestDatabase("cli_trust");
    ingest = await startIngest(ingestConfig({ ...as("ingest"), INGEST_PORT: "0", LOG_LEVEL: "silent" }, { probeMs: 200 }));
  });
  afterAll(async () => {
    await ingest?.close();
    await nats?.stop();
    await database?.drop();
  });

  it("a producer's user: its rejects heard, silence said to be silence, another's subject refused by the broker", async () => {
    const input = [rec("t1:received"), rec("t2:received", { ts: "2026-11-26T09:15:00" })].join("\n");
    const r = await runPulse(
      ["publish", "-", "--feed", "egov", "--source", "dvc", "--no-database", "--timeout", "3", "--json"],
      as("dvc"),
      input,
    );
    expect(r.stderr).toMatch(/^writing into NATS nats:\/\/127\.0\.0\.1:\d+ \(NATS_URL\)\n$/); // and nothing else
    const [good, bad] = r.json().lines;
    expect(bad).toMatchObject({ status: "refused", by: "ingest", reason: "bad_time" });
    expect(good).toMatchObject({ status: "accepted", detail: expect.stringMatching(/no refusal heard within 3 s; settlement not seen/) });
    expect(r.code).toBe(1); // a line refused
    const forged = await runPulse(
      ["publish", "-", "--feed", "bts", "--source", "viettel", "--no-database", "--timeout", "3", "--json"],
      as("dvc"),
      rec("f1"),
    );
    expect(forged.json().lines[0]).toMatchObject({
      status: "refused",
      by: "jetstream",
      detail: 'the broker refused the publish: Permissions Violation for Publish to "feeds.bts.viettel"',
    });
    expect(forged.code).toBe(1);
  });

  it("the operators' user: status, and a retry heard back", async () => {
    const s = await runPulse(["status", "--json"], as("cli"));
    expect(s.code, s.stderr).toBe(0);
    expect(s.json().consumers).toHaveLength(4);
    const [letter] = (await runPulse(["dlq", "list", "--reason", "bad_time", "--json"], as("cli"))).json().dead_letters;
    const retry = await runPulse(["dlq", "retry", String(letter.id), "--json"], as("cli"));
    expect(retry.json().retried[0]).toMatchObject({ status: "refused", by: "ingest", reason: "bad_time" });
  });

  it("refused credentials: exit 1 and what to check", async () => {
    const r = await runPulse(["status"], { ...as("cli"), NATS_PASSWORD: "wrong" });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\nNATS: the NATS server at nats:\/\/127\.0\.0\.1:\d+ refused the credentials of user "cli"/);
  });
});
