/**
 * The HTTPS door with only its own NATS user (`feeds_http` in infra/nats/permissions.conf), on a
 * private nats-server running the repository's secure config: every seeded source's feeds go
 * through it with a token of that source and come back with ingest's verdict; the user may do
 * nothing else; no token, hash or password shows in its logs, metrics or health.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readNatsAuth, type Logger } from "@pulse/config";
import { createDb, type Db } from "@pulse/db";
import { loadConfig as ingestConfig, startIngest, type Ingest } from "@pulse/ingest";
import { connectNats, PermissionViolationError, type NatsConnection } from "@pulse/nats";
import { sources } from "@pulse/seeds";
import { createTestDatabase, uniqueTag, type TestDatabase } from "@pulse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsDir, startSecureNats, type SecureNats } from "./support/secure-nats";
import { curl, post, startDoor, type Door } from "./support/feeds-http";
import { writeFileSync } from "node:fs";

let nats: SecureNats;
let database: TestDatabase;
let db: Db;
let ingest: Ingest;
let door: Door;
const logged: string[] = [];
const capture = (s: string): Logger => ({
  info: (m, f) => void logged.push(`${s} info ${m} ${JSON.stringify(f ?? {})}`),
  warn: (m, f) => void logged.push(`${s} warn ${m} ${JSON.stringify(f ?? {})}`),
  error: (m, f) => void logged.push(`${s} error ${m} ${JSON.stringify(f ?? {})}`),
  child: (c) => capture(`${s}:${c}`),
});

const data: Record<string, Record<string, unknown>> = {
  subscribers: { service: "mobile", count: 5 },
  bts: { station: "NA-T-1", tech: "4G", status: "up" },
  esign: { agency: "so-khcn", doc: "1/QĐ", signed: true, signer: "organization" },
  egov: { procedure: "1.004227", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received" },
};
const record = (source: string, feed: string, id: string) =>
  JSON.stringify({ v: 1, id, source, ts: "2026-11-26T09:15:00+07:00", area: feed === "esign" ? "40" : "16681", data: data[feed] });

beforeAll(async () => {
  nats = await startSecureNats();
  database = await createTestDatabase(uniqueTag("trust_fh"));
  db = createDb({ url: database.url, poolMax: 2 });
  ingest = await startIngest(
    ingestConfig({
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      NATS_USER: "ingest",
      NATS_PASSWORD: nats.passwords.ingest,
      INGEST_PORT: "0",
      INGEST_PROBE_MS: "200",
    }),
    { log: capture("ingest") },
  );
  const h = { database, config: { natsUrl: nats.url }, names: ingestConfig({}).names };
  door = await startDoor(
    h,
    sources.map((s) => s.id),
    { NATS_USER: "feeds_http", NATS_PASSWORD: nats.passwords.feeds_http!, FEEDS_HTTP_SETTLE_MS: "10000", LOG_LEVEL: "info" },
    {},
    capture("feeds-http"),
  );
}, 60_000);
afterAll(async () => {
  await door?.close();
  await ingest?.close();
  await db?.close();
  await database?.drop();
  await nats?.stop();
});

describe("the door's NATS user", () => {
  it("permissions.conf: publishes feeds.> and reads consumer info, hears rejects.> and its own inbox; nothing else", () => {
    const text = readFileSync(join(natsDir, "permissions.conf"), "utf8");
    const block = /\{ user: feeds_http,[\s\S]*?\} \}/.exec(text)?.[0];
    expect(block).toBeDefined();
    const list = (k: string) =>
      new RegExp(`${k}: \\[([^\\]]*)\\]`)
        .exec(block!)![1]!
        .match(/"[^"]+"/g)!
        .map((q) => q.slice(1, -1))
        .sort();
    expect(list("publish")).toEqual(["$JS.API.CONSUMER.INFO.*.*", "feeds.>"].sort());
    expect(list("subscribe")).toEqual(["_INBOX_feeds_http.>", "rejects.>"].sort());
  });

  it("every seeded source's every feed goes through the door, its verdict told, refusals too", async () => {
    for (const s of sources) {
      for (const feed of Object.keys(s.feeds)) {
        const path = join(door.dir, `${s.id}-${feed}.ndjson`);
        writeFileSync(path, [record(s.id, feed, `t-${feed}-1`), "{bad"].join("\n"));
        const r = await curl(post(door, feed, door.tokens[s.id]!, path));
        expect(r.status, `${s.id} ${feed}`).toBe(200);
        expect(
          r.json.results.map((x: { outcome: string; reason?: string }) => [x.outcome, x.reason ?? null]),
          `${s.id} ${feed}`,
        ).toEqual([
          ["accepted", null],
          ["refused", "bad_json"],
        ]);
      }
    }
  });

  it("may not manage streams, read LIVE, or hear the feeds themselves", async () => {
    const nc: NatsConnection = await connectNats(
      nats.url,
      "test-feeds-http",
      readNatsAuth({ NATS_USER: "feeds_http", NATS_PASSWORD: nats.passwords.feeds_http }),
    );
    const errors: Error[] = [];
    void (async () => {
      for await (const st of nc.status()) if (st.type === "error") errors.push(st.error);
    })();
    try {
      for (const subject of [
        "$JS.API.STREAM.DELETE.FEEDS_EGOV",
        "$JS.API.CONSUMER.CREATE.FEEDS_EGOV",
        "live.forged",
        "$JS.ACK.FEEDS_EGOV.x",
      ]) {
        nc.publish(subject, "{}");
      }
      for (const subject of ["feeds.>", "live.>", "_INBOX.>", "_INBOX_ingest.>"]) nc.subscribe(subject);
      await nc.flush();
      await new Promise((r) => setTimeout(r, 300));
      const refused = errors.filter((e) => e instanceof PermissionViolationError).map((e) => (e as PermissionViolationError).subject);
      expect(new Set(refused)).toEqual(
        new Set([
          "$JS.API.STREAM.DELETE.FEEDS_EGOV",
          "$JS.API.CONSUMER.CREATE.FEEDS_EGOV",
          "live.forged",
          "$JS.ACK.FEEDS_EGOV.x",
          "feeds.>",
          "live.>",
          "_INBOX.>",
          "_INBOX_ingest.>",
        ]),
      );
    } finally {
      await nc.close();
    }
  });

  it("no token, token hash or password in the door's logs, metrics or health", async () => {
    const metrics = await (await fetch(`http://127.0.0.1:${door.door.adminPort}/metrics`)).text();
    const health = await (await fetch(`http://127.0.0.1:${door.door.adminPort}/healthz`)).text();
    expect(metrics).toMatch(/pulse_feeds_http_lines_total\{feed="subscribers",outcome="accepted"\}/);
    const tokensFile = readFileSync(door.tokensFile, "utf8");
    const secrets = [
      ...Object.values(door.tokens),
      ...[...tokensFile.matchAll(/sha256:([0-9a-f]+)/g)].map((m) => m[1]!),
      nats.passwords.feeds_http!,
    ];
    for (const secret of secrets) for (const text of [logged.join("\n"), metrics, health]) expect(text.includes(secret)).toBe(false);
  });
});
