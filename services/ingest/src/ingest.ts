import { createLogger, type Logger } from "@pulse/config";
import { feeds, type Feed } from "@pulse/contracts";
import { createDb, migrateOrThrow, pruneDeadLetters, pruneEvents, type Db } from "@pulse/db";
import { startMetricsServer, type Health, type MetricsServer } from "@pulse/metrics";
import { connectNats, consumerBacklog, ensureStreams, redactNatsUrl, type NatsConnection } from "@pulse/nats";
import { AdvisoryWatcher } from "./advisories";
import type { IngestConfig } from "./config";
import { DbGate } from "./db-gate";
import { FeedWorker } from "./feed-worker";
import { createIngestMetrics, type IngestMetrics } from "./ingest-metrics";
import { Relay } from "./relay";

export interface Ingest {
  /** Port of /healthz and /metrics. */
  port: number;
  metrics: IngestMetrics;
  health(): Health;
  /** Stops fetching, settles the batches in hand, relays what was committed, drains NATS, ends the pool. */
  close(): Promise<void>;
}

export interface IngestDeps {
  /** Database URL to use when the config has none (the embedded Postgres, started by main). */
  databaseUrl?: string;
  /** A database handle to use instead of opening a pool of its own (tests, benches). The caller closes it. */
  db?: Db;
  log?: Logger;
  /** Observer of every commit (benchmarks measure publish-to-commit latency with it). */
  onCommit?: (feed: Feed, receivedMs: number[], committedMs: number) => void;
}

/** Starts ingest: streams and consumers, one worker per feed, the relay, the advisory watcher. */
export async function startIngest(config: Readonly<IngestConfig>, deps: IngestDeps = {}): Promise<Ingest> {
  const log = deps.log ?? createLogger("ingest", config.logLevel);
  const url = config.databaseUrl ?? deps.databaseUrl;
  if (!url && !deps.db) throw new Error("startIngest: no database (set DATABASE_URL, or let main start the embedded Postgres)");

  const metrics = createIngestMetrics();
  const nc: NatsConnection = await connectNats(config.natsUrl, "pulse-ingest", { ...config.natsAuth, log: log.child("nats") });
  const names = await ensureStreams(nc, {
    names: config.names,
    replicas: config.replicas,
    maxDeliver: config.maxDeliver,
    ackWaitMs: config.ackWaitMs,
  });
  const db: Db = deps.db ?? createDb({ url: url!, poolMax: config.poolMax, applicationName: "pulse-ingest" });
  await waitForDatabase(db, config.probeMs, log);
  metrics.dbUp.set(1);

  const gate = new DbGate(db, config.probeMs, log, (up) => metrics.dbUp.set(up ? 1 : 0));
  const relay = new Relay({ nc, db, names, metrics, log: log.child("relay") });
  const workers = feeds.map(
    (feed) =>
      new FeedWorker({
        feed,
        nc,
        db,
        gate,
        names,
        metrics,
        log: log.child(feed),
        batchSize: config.batchSize,
        lingerMs: config.lingerMs,
        ackWaitMs: config.ackWaitMs,
        maxBytes: config.maxBytes,
        maxFutureMs: config.maxFutureMs,
        onChanges: () => relay.poke(),
        onCommit: deps.onCommit,
      }),
  );
  const advisories = new AdvisoryWatcher({ nc, db, names, metrics, log: log.child("advisories"), ackWaitMs: config.ackWaitMs });

  relay.start();
  advisories.start();
  for (const w of workers) w.start();

  // Backlog per feed for /metrics and for "pipeline behind": read every few seconds, not per scrape.
  const backlog = new Map<Feed, { pending: number; ackPending: number }>();
  const readBacklog = async () => {
    for (const feed of feeds) {
      try {
        const b = await consumerBacklog(nc, names, feed);
        backlog.set(feed, b);
        metrics.consumerPending.set({ feed }, b.pending);
        metrics.consumerAckPending.set({ feed }, b.ackPending);
      } catch {
        /* NATS reconnecting: keep the last figures */
      }
    }
  };
  const backlogTimer = setInterval(readBacklog, 5_000);
  backlogTimer.unref();
  void readBacklog();

  const retentionMs = config.retentionDays * 86_400_000;
  const deadLetterRetentionMs = config.deadLetterRetentionDays * 86_400_000;
  let pruning: Promise<void> | null = null;
  const prune = async () => {
    if (!gate.isUp) return;
    try {
      let n = 0;
      for (let k = await pruneEvents(db.db, retentionMs); k > 0; k = await pruneEvents(db.db, retentionMs)) n += k;
      if (n > 0) log.info("raw events past retention deleted", { rows: n, retention_days: config.retentionDays });
      let d = 0;
      for (let k = await pruneDeadLetters(db.db, deadLetterRetentionMs); k > 0; k = await pruneDeadLetters(db.db, deadLetterRetentionMs))
        d += k;
      if (d > 0) log.info("dead letters past retention deleted", { rows: d, retention_days: config.deadLetterRetentionDays });
    } catch (err) {
      log.warn("retention pass failed", { error: String((err as Error)?.message ?? err) });
    }
  };
  // Once at start as well as hourly: a process restarted more often than hourly (deploys, a
  // crash loop) would otherwise never prune, and a flood's dead letters would pile up for good.
  const runPrune = () => void (pruning ??= prune().finally(() => (pruning = null)));
  const retentionTimer = setInterval(runPrune, 3_600_000);
  retentionTimer.unref();
  runPrune();

  const health = (): Health => ({
    ok: gate.isUp && !nc.isClosed(),
    database: gate.isUp ? "up" : `unreachable for ${Math.round(gate.downForSeconds)} s; pulling paused, messages held`,
    nats: nc.isClosed() ? "closed" : "connected",
    held_messages: workers.reduce((n, w) => n + w.held, 0),
    relayed_up_to: relay.published,
    backlog: Object.fromEntries(backlog),
  });
  const server: MetricsServer = await startMetricsServer({ port: config.port, registry: metrics.registry, health });
  log.info("ingest started", {
    port: server.port,
    nats: redactNatsUrl(config.natsUrl),
    nats_user: config.natsAuth.user,
    streams: `${names.feeds}_<FEED>`,
    batch: config.batchSize,
  });

  let closing: Promise<void> | null = null;
  return {
    port: server.port,
    metrics,
    health,
    close: () =>
      (closing ??= (async () => {
        clearInterval(backlogTimer);
        clearInterval(retentionTimer);
        // Stop every worker first (each stops before its close() first awaits), then close the
        // gate: a worker waiting out an outage is released, sees it is stopping and hands its
        // batch back. Closing the gate after awaiting the workers would wait for the database.
        const stopped = [...workers.map((w) => w.close()), advisories.close()];
        gate.close();
        await Promise.all(stopped);
        await relay.close();
        await nc.drain().catch(() => nc.close());
        if (!deps.db) await db.close();
        await server.close();
        log.info("ingest stopped");
      })()),
  };
}

/** Start-up waits for the database (and migrates it) rather than failing: it may start later. */
async function waitForDatabase(db: Db, probeMs: number, log: Logger): Promise<void> {
  let warned = 0;
  for (;;) {
    try {
      await migrateOrThrow(db.db);
      return;
    } catch (err) {
      const cause = (err as Error).cause ?? err;
      const msg = String((cause as Error)?.message ?? cause);
      if (!/ECONNREFUSED|ECONNRESET|terminat|timeout|connect|the database system is/i.test(msg)) throw err;
      if (Date.now() - warned > 10_000) {
        log.warn("waiting for the database", { error: msg });
        warned = Date.now();
      }
      await new Promise((r) => setTimeout(r, probeMs));
    }
  }
}
