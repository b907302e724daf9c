/**
 * Producers speak only for themselves: a private nats-server runs the repository's own
 * single-secure.conf and permissions.conf, and every user does what it is for (and is refused
 * what it is not) with real clients; ingest and the exporter run with only their own user.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { readNatsAuth, type Logger } from "@pulse/config";
import { consumerName, feeds, msgId } from "@pulse/contracts";
import { createDb, sql, type Db } from "@pulse/db";
import { loadConfig as exporterConfig, startExporter, type Exporter } from "@pulse/exporter";
import { loadConfig as ingestConfig, startIngest, type Ingest } from "@pulse/ingest";
import {
  connectNats,
  DeliverPolicy,
  feedStream,
  headers,
  jetstream,
  jetstreamManager,
  PermissionViolationError,
  type NatsConnection,
} from "@pulse/nats";
import { sources } from "@pulse/seeds";
import { loadConfig as simulatorConfig, startSimulator } from "@pulse/simulator";
import { loadConfig as liveConfig, startLive } from "@pulse/live";
import { allLogTopics, clientValues, LiveClient, postgresValues } from "@pulse/live/testing";
import { createTestDatabase, uniqueTag, type TestDatabase } from "@pulse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsDir, startSecureNats, type SecureNats } from "./support/secure-nats";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
const tsx = resolve(root, "node_modules/tsx/dist/cli.mjs");
let nats: SecureNats;
let database: TestDatabase;
let db: Db;
let ingest: Ingest;
let exporter: Exporter;
const opened: NatsConnection[] = [];
/** Every line the services logged: checked for secrets at the end. */
const logged: string[] = [];

function capture(scope: string): Logger {
  const make = (s: string): Logger => ({
    info: (m, f) => void logged.push(`${s} info ${m} ${JSON.stringify(f ?? {})}`),
    warn: (m, f) => void logged.push(`${s} warn ${m} ${JSON.stringify(f ?? {})}`),
    error: (m, f) => void logged.push(`${s} error ${m} ${JSON.stringify(f ?? {})}`),
    child: (c) => make(`${s}:${c}`),
  });
  return make(scope);
}

/** A client as `user`, with the errors the server sends it asynchronously. */
async function as(user: string) {
  const nc = await connectNats(nats.url, `test-${user}`, readNatsAuth({ NATS_USER: user, NATS_PASSWORD: nats.passwords[user] }));
  opened.push(nc);
  const errors: Error[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === "error") errors.push(s.error);
  })();
  return { nc, js: jetstream(nc), errors };
}
type Client = Awaited<ReturnType<typeof as>>;

async function waitFor<T>(what: string, f: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  for (const until = Date.now() + timeoutMs; ;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The permission error the server sent for `subject`, once it arrives. */
const violation = (c: Client, operation: "publish" | "subscription", subject: string) =>
  waitFor(`a ${operation} violation on ${subject}`, () =>
    c.errors.find(
      (e): e is PermissionViolationError => e instanceof PermissionViolationError && e.operation === operation && e.subject === subject,
    ),
  );

/**
 * Subscribes, and resolves with the error the server ended the subscription on, or "open". The
 * server answers a SUB's refusal before the PONG of the flush that follows it.
 */
async function trySubscribe(c: Client, subject: string): Promise<Error | "open"> {
  let refused: Error | null = null;
  c.nc.subscribe(subject, { callback: (err) => void (err && (refused = err)) });
  await c.nc.flush();
  await new Promise((r) => setTimeout(r, 50));
  return refused ?? "open";
}

const envelope = (source: string, id: string, data: Record<string, unknown>, area = "16681") =>
  JSON.stringify({ v: 1, id, source, ts: "2026-11-26T09:15:00+07:00", area, revision: 0, data });

async function publish(c: Client, subject: string, source: string, id: string, body: string) {
  const h = headers();
  h.set("Nats-Msg-Id", msgId(source, id, 0));
  return c.js.publish(subject, body, { headers: h, timeout: 1_500 });
}

/** Waits until every feed consumer is drained and the relay has published every change. */
async function settled(): Promise<void> {
  const { nc } = await as("exporter");
  const jsm = await jetstreamManager(nc);
  for (const until = Date.now() + 20_000; ;) {
    let busy = 0;
    for (const f of feeds) {
      const i = await jsm.consumers.info(feedStream(defaultNames(), f), consumerName(f));
      busy += i.num_pending + i.num_ack_pending;
    }
    const lag = await sql<{
      n: number;
    }>`SELECT (SELECT coalesce(max(id), 0) FROM changes) - (SELECT coalesce(max(last_id), 0) FROM relay_cursor) AS n`.execute(db.db);
    if (busy === 0 && (lag.rows[0]?.n ?? 0) <= 0) return;
    if (Date.now() > until) throw new Error(`not settled (${busy} pending)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const defaultNames = () => ingestConfig({}).names;

beforeAll(async () => {
  nats = await startSecureNats();
  database = await createTestDatabase(uniqueTag("trust"));
  db = createDb({ url: database.url, poolMax: 2 });
  const env = {
    DATABASE_URL: database.url,
    NATS_URL: nats.url,
    NATS_USER: "ingest",
    NATS_PASSWORD: nats.passwords.ingest,
    INGEST_PORT: "0",
    INGEST_PROBE_MS: "200",
  };
  ingest = await startIngest(ingestConfig(env), { log: capture("ingest") });
  exporter = await startExporter(
    exporterConfig({
      DATABASE_URL: database.url,
      METRICS_PORT: "0",
      EXPORTER_CACHE_MS: "0",
      NATS_URL: `nats://exporter:${encodeURIComponent(nats.passwords.exporter!)}@127.0.0.1:${nats.server.port}`,
    }),
    { log: capture("exporter") },
  );
}, 60_000);

afterAll(async () => {
  for (const nc of opened) await nc.close().catch(() => {});
  await exporter?.close();
  await ingest?.close();
  await db?.close();
  await database?.drop();
  await nats?.stop();
});

describe("permissions.conf", () => {
  it("gives each seeded source a user that publishes exactly its feeds and hears its rejects", () => {
    const text = readFileSync(join(natsDir, "permissions.conf"), "utf8");
    for (const s of sources) {
      const line = text.split("\n").find((l) => new RegExp(`\\{ user: ${s.id},`).test(l));
      expect(line, `a user for ${s.id}`).toBeDefined();
      const pub = /publish: \[([^\]]*)\]/
        .exec(line!)![1]!
        .match(/"[^"]+"/g)!
        .map((q) => q.slice(1, -1));
      expect(pub.sort()).toEqual(
        Object.keys(s.feeds)
          .map((f) => `feeds.${f}.${s.id}`)
          .sort(),
      );
      const sub = /subscribe: \[([^\]]*)\]/
        .exec(line!)![1]!
        .match(/"[^"]+"/g)!
        .map((q) => q.slice(1, -1));
      expect(sub.sort()).toEqual([`_INBOX_${s.id}.>`, `rejects.${s.id}`].sort());
    }
  });
});

describe("a carrier", () => {
  it("publishes its own feeds, and is refused another carrier's: the client sees the permission error", async () => {
    const viettel = await as("viettel");
    const ok = await publish(
      viettel,
      "feeds.subscribers.viettel",
      "viettel",
      "own-1",
      envelope("viettel", "own-1", { service: "mobile", count: 7 }),
    );
    expect(ok.stream).toBe("FEEDS_SUBSCRIBERS");

    const body = envelope("mobifone", "forged-1", { service: "mobile", count: 999_999 });
    await expect(publish(viettel, "feeds.subscribers.mobifone", "mobifone", "forged-1", body)).rejects.toThrow();
    const err = await violation(viettel, "publish", "feeds.subscribers.mobifone");
    expect(err.message).toMatch(/Permissions Violation for Publish to "feeds.subscribers.mobifone"/);
    // The connection stays up for what the carrier may do.
    expect(
      (
        await publish(
          viettel,
          "feeds.bts.viettel",
          "viettel",
          "own-2",
          envelope("viettel", "own-2", { station: "NA-1", tech: "4G", status: "up" }),
        )
      ).stream,
    ).toBe("FEEDS_BTS");
    await settled();
    const rows = await sql<{ source: string; count: number }>`SELECT source, count FROM subscriber_gauges ORDER BY 1`.execute(db.db);
    expect(rows.rows).toEqual([{ source: "viettel", count: 7 }]);
  });

  it("cannot hear another's rejects, LIVE, anyone's inbox, or the feeds themselves", async () => {
    const viettel = await as("viettel");
    for (const subject of [
      "rejects.mobifone",
      "rejects.>",
      "live.>",
      "live.subscribers",
      "_INBOX.>",
      "_INBOX_ingest.>",
      "_INBOX_mobifone.>",
      "feeds.>",
      "$JS.EVENT.>",
    ]) {
      const r = await trySubscribe(viettel, subject);
      expect(r, subject).toBeInstanceOf(PermissionViolationError);
      expect((r as PermissionViolationError).operation).toBe("subscription");
    }
    expect(await trySubscribe(viettel, "rejects.viettel")).toBe("open");
  });

  it("cannot touch JetStream's API: no stream or consumer info, no delete, no consumer of its own", async () => {
    const viettel = await as("viettel");
    const calls = [
      "$JS.API.INFO",
      "$JS.API.STREAM.INFO.FEEDS_SUBSCRIBERS",
      "$JS.API.STREAM.DELETE.FEEDS_SUBSCRIBERS",
      "$JS.API.STREAM.PURGE.FEEDS_SUBSCRIBERS",
      "$JS.API.CONSUMER.DELETE.FEEDS_SUBSCRIBERS.ingest-subscribers",
      "$JS.API.CONSUMER.CREATE.FEEDS_SUBSCRIBERS",
      "$JS.API.CONSUMER.MSG.NEXT.FEEDS_SUBSCRIBERS.ingest-subscribers",
      "$JS.API.STREAM.INFO.LIVE",
    ];
    for (const subject of calls) {
      await expect(viettel.nc.request(subject, "{}", { timeout: 800 }), subject).rejects.toThrow();
      await violation(viettel, "publish", subject);
    }
    // Everything is still there.
    const { nc } = await as("exporter");
    const info = await (await jetstreamManager(nc)).consumers.info("FEEDS_SUBSCRIBERS", "ingest-subscribers");
    expect(info.name).toBe("ingest-subscribers");
  });

  it("whose payload claims another source is dead-lettered by ingest all the same, and told so", async () => {
    const viettel = await as("viettel");
    const heard: Record<string, unknown>[] = [];
    viettel.nc.subscribe("rejects.viettel", { callback: (_e, m) => void heard.push(m.json()) });
    await viettel.nc.flush();
    await publish(
      viettel,
      "feeds.subscribers.viettel",
      "viettel",
      "claims-mobifone",
      envelope("mobifone", "claims-mobifone", { service: "mobile", count: 123 }),
    );
    await settled();
    const dl = await sql<{ reason: string; subject: string }>`SELECT reason, subject FROM dead_letters`.execute(db.db);
    expect(dl.rows).toEqual([{ reason: "source_mismatch", subject: "feeds.subscribers.viettel" }]);
    const r = await waitFor("the reject", () => heard.find((h) => h.id === "claims-mobifone"));
    expect(r).toMatchObject({ reason: "source_mismatch" });
    const mobifone = await sql<{ n: number }>`SELECT count(*)::int AS n FROM subscriber_gauges WHERE source = 'mobifone'`.execute(db.db);
    expect(mobifone.rows[0]!.n).toBe(0);
  });
});

describe("each service with only its own user", () => {
  it("ingest: every carrier and agency end to end, LIVE filled", async () => {
    const before = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(db.db)).rows[0]!.n;
    let n = 0;
    for (const s of sources) {
      const c = await as(s.id);
      for (const feed of Object.keys(s.feeds)) {
        const id = `e2e-${feed}-${s.id}`;
        const data: Record<string, Record<string, unknown>> = {
          subscribers: { service: "mobile", count: 1_000 },
          bts: { station: `NA-${s.id}`, tech: "4G", status: "down" },
          esign: { agency: "so-khcn", doc: id, signed: true, signer: "organization" },
          egov: { procedure: "p1", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received" },
        };
        await publish(c, `feeds.${feed}.${s.id}`, s.id, id, envelope(s.id, id, data[feed]!, feed === "esign" ? "40" : "16681"));
        n++;
      }
    }
    await settled();
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(db.db)).rows[0]!.n - before).toBe(n);
    const { nc } = await as("live");
    const live = await (await jetstreamManager(nc, { checkAPI: false })).streams.info("LIVE");
    expect(live.state.messages).toBe((await sql<{ n: number }>`SELECT count(*)::int AS n FROM changes`.execute(db.db)).rows[0]!.n);
    expect(logged.filter((l) => /refused this connection a permission/.test(l))).toEqual([]);
  });

  it("the exporter reads the feed consumers (pipeline watch up) and the figures", async () => {
    await exporter.pipeline.poll();
    expect(exporter.pipeline.up()).toBe(true);
    const text = await (await fetch(`http://127.0.0.1:${exporter.port}/metrics`)).text();
    const held = await sql<{ count: number }>`SELECT count FROM subscriber_gauges WHERE source = 'viettel' AND area = '16681'`.execute(
      db.db,
    );
    const series = text
      .split("\n")
      .find(
        (l) =>
          /^pulse_subscribers\{/.test(l) && l.includes('source="viettel"') && l.includes('area="16681"') && l.includes('service="mobile"'),
      );
    expect(series?.split(" ").pop()).toBe(String(held.rows[0]!.count));
    const exp = await as("exporter");
    await expect(exp.nc.request("$JS.API.CONSUMER.DELETE.FEEDS_EGOV.ingest-egov", "", { timeout: 800 })).rejects.toThrow();
    await violation(exp, "publish", "$JS.API.CONSUMER.DELETE.FEEDS_EGOV.ingest-egov");
  });

  it("the gateway: LIVE through ordered consumers from any sequence, the feed consumers' info, nothing of the feeds", async () => {
    const live = await as("live");
    const jsm = await jetstreamManager(live.nc, { checkAPI: false, timeout: 2_000 });
    const last = (await jsm.streams.info("LIVE")).state.last_seq;
    expect(last).toBeGreaterThan(2);
    for (const f of feeds) expect((await jsm.consumers.info(feedStream(defaultNames(), f), consumerName(f))).num_pending).toBe(0);
    const read = async (opts: Parameters<typeof live.js.consumers.get>[1]) => {
      const consumer = await live.js.consumers.get("LIVE", opts);
      const batch = await consumer.fetch({ max_messages: 1_000, expires: 1_000 });
      const seqs: number[] = [];
      for await (const m of batch) {
        seqs.push(m.seq);
        if (m.info.pending === 0) break;
      }
      await consumer.delete().catch(() => {});
      return seqs;
    };
    expect(await read({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: 2 })).toEqual(
      Array.from({ length: last - 1 }, (_, i) => i + 2),
    );
    expect((await read({ deliver_policy: DeliverPolicy.All })).length).toBe(last);
    // Not a consumer of a feed: that would read every carrier's messages.
    await expect(live.js.consumers.get("FEEDS_SUBSCRIBERS", { deliver_policy: DeliverPolicy.All })).rejects.toThrow();
    expect(live.errors.some((e) => e instanceof PermissionViolationError && e.subject.includes("FEEDS_SUBSCRIBERS"))).toBe(true);
    for (const s of [
      "$JS.API.CONSUMER.CREATE.FEEDS_SUBSCRIBERS",
      "$JS.API.CONSUMER.CREATE.FEEDS_SUBSCRIBERS.x.feeds.subscribers.viettel",
      "$JS.API.STREAM.DELETE.LIVE",
      "$JS.API.CONSUMER.DELETE.FEEDS_EGOV.ingest-egov",
      "feeds.egov.dvc",
      "live.forged",
    ]) {
      live.nc.publish(s, "{}");
      await violation(live, "publish", s);
    }
  });

  it("the simulator: all six sources' feeds and their rejects, nothing else", async () => {
    const sim = await as("simulator");
    for (const s of sources) {
      expect(await trySubscribe(sim, `rejects.${s.id}`)).toBe("open");
      for (const feed of Object.keys(s.feeds)) {
        const ack = await sim.js.publish(`feeds.${feed}.${s.id}`, "not json", { timeout: 1_500, msgID: `sim-${feed}-${s.id}` });
        expect(ack.stream).toBe(`FEEDS_${feed.toUpperCase()}`);
      }
    }
    const jsm = await jetstreamManager(sim.nc, { timeout: 2_000 });
    for (const f of feeds) expect((await jsm.streams.info(feedStream(defaultNames(), f))).config.name).toBe(feedStream(defaultNames(), f));
    const last = await jsm.streams.getMessage("FEEDS_EGOV", { last_by_subj: "feeds.egov.dvc" });
    expect(last?.subject).toBe("feeds.egov.dvc");
    expect(await trySubscribe(sim, "live.>")).toBeInstanceOf(PermissionViolationError);
    for (const s of ["$JS.API.STREAM.INFO.LIVE", "$JS.API.CONSUMER.CREATE.FEEDS_EGOV", "$JS.API.STREAM.DELETE.FEEDS_EGOV", "live.forged"]) {
      sim.nc.publish(s, "{}");
      await violation(sim, "publish", s);
    }
    await settled();
    const dl = await sql<{ n: number }>`SELECT count(*)::int AS n FROM dead_letters WHERE reason = 'bad_json'`.execute(db.db);
    expect(dl.rows[0]!.n).toBe(sources.reduce((n, s) => n + Object.keys(s.feeds).length, 0));
  });

  it("the CLI: re-submits a dead letter of any source, hears every reject, reads stream and consumer info", async () => {
    const cli = await as("cli");
    const heard: string[] = [];
    cli.nc.subscribe("rejects.>", { callback: (_e, m) => void heard.push(m.subject) });
    await cli.nc.flush();
    const jsm = await jetstreamManager(cli.nc, { timeout: 2_000 });
    expect((await jsm.streams.info("FEEDS_EGOV")).config.name).toBe("FEEDS_EGOV");
    expect((await jsm.consumers.info("FEEDS_EGOV", "ingest-egov")).name).toBe("ingest-egov");
    const h = headers();
    h.set("Nats-Msg-Id", "retry:dl-1");
    const ack = await cli.js.publish("feeds.egov.dvc", "still not json", { headers: h, timeout: 1_500 });
    expect(ack.duplicate).toBe(false);
    await waitFor("the CLI to hear the reject", () => (heard.includes("rejects.dvc") ? true : undefined), 10_000);
    for (const s of ["$JS.API.STREAM.DELETE.FEEDS_EGOV", "$JS.API.CONSUMER.DELETE.FEEDS_EGOV.ingest-egov", "live.forged"]) {
      cli.nc.publish(s, "{}");
      await violation(cli, "publish", s);
    }
  });
});

describe("the real simulator, gateway and CLI with their own users", () => {
  it("the simulator runs a few seconds as the simulator user: nothing refused, nothing failed", async () => {
    const url = `nats://simulator:${encodeURIComponent(nats.passwords.simulator!)}@127.0.0.1:${nats.server.port}`;
    const sim = await startSimulator(
      simulatorConfig({ NATS_URL: url, SIMULATOR_DURATION_S: "2", SIMULATOR_BACKFILL: "0", SIMULATOR_RATE: "20", LOG_LEVEL: "silent" }),
      { log: capture("simulator") },
    );
    const stats = await sim.done;
    expect(stats.publish.published).toBeGreaterThan(0);
    expect(stats.publish.failed).toBe(0);
    expect(logged.filter((l) => l.startsWith("simulator") && /refused|permission/i.test(l))).toEqual([]);
  });

  it("the gateway runs as the live user: a client's snapshot equals Postgres", async () => {
    const url = `nats://live:${encodeURIComponent(nats.passwords.live!)}@127.0.0.1:${nats.server.port}`;
    const gw = await startLive(
      liveConfig({ DATABASE_URL: database.url, NATS_URL: url, LIVE_PORT: "0", LIVE_ADMIN_PORT: "0", LOG_LEVEL: "silent" }),
      {
        log: capture("live"),
      },
    );
    await settled();
    const c = LiveClient.connect(`ws://127.0.0.1:${gw.port}/live`);
    try {
      await c.opened;
      c.subscribe("all", allLogTopics);
      await c.next((f) => f.type === "snapshot");
      const last = (await (await jetstreamManager((await as("live")).nc, { checkAPI: false })).streams.info("LIVE")).state.last_seq;
      await c.until(() => c.seq >= last, 10_000, "the gateway to reach LIVE's end");
      // The gateway keeps the egov_minute keys of the last 6 hours only (LIVE_MINUTES_HOURS).
      const keepMinute = Date.now() - 6 * 3_600_000;
      const truth = Object.entries(await postgresValues(db)).filter(
        ([k]) => !k.startsWith("egov_minute\u0000") || Date.parse(k.split("minute=")[1]!) >= keepMinute,
      );
      expect(Object.entries(clientValues(c)).sort()).toEqual(truth.sort());
      expect(gw.behind()).toEqual([]);
    } finally {
      await c.close();
      await gw.close();
    }
  });

  it("pulse status runs as the cli user", async () => {
    const out = await run(process.execPath, [tsx, "packages/cli/src/main.ts", "status", "--json"], {
      cwd: root,
      env: { PATH: process.env.PATH, DATABASE_URL: database.url, NATS_URL: nats.url, NATS_USER: "cli", NATS_PASSWORD: nats.passwords.cli },
    }).catch((err: { stdout?: string; stderr?: string; code?: number }) => err);
    expect((out as { stderr?: string }).stderr ?? "", "stderr").not.toMatch(/permission|refused|violation/i);
    expect((out as { code?: number }).code ?? 0).toBe(0);
    expect(JSON.parse((out as { stdout: string }).stdout)).toBeTypeOf("object");
  });
});

describe("secrets", () => {
  it("appear in no log line and no metric of ingest or the exporter", async () => {
    const ingestMetrics = await (await fetch(`http://127.0.0.1:${ingest.port}/metrics`)).text();
    const exporterMetrics = await (await fetch(`http://127.0.0.1:${exporter.port}/metrics`)).text();
    const health = JSON.stringify(ingest.health());
    expect(logged.some((l) => l.includes("ingest started"))).toBe(true);
    for (const [user, secret] of Object.entries(nats.passwords)) {
      for (const [what, text] of [
        ["logs", logged.join("\n")],
        ["ingest /metrics", ingestMetrics],
        ["exporter /metrics", exporterMetrics],
        ["health", health],
      ] as const) {
        expect(text.includes(secret), `${user}'s password in ${what}`).toBe(false);
        expect(text.includes(encodeURIComponent(secret)), `${user}'s password in ${what}`).toBe(false);
      }
    }
  });
});
