import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger, type Logger } from "@pulse/config";
import { consumerName, feeds, localDayStart, pipelineBehindJudge, type Feed } from "@pulse/contracts";
import { createDb, type Db } from "@pulse/db";
import { startMetricsServer, type MetricsServer } from "@pulse/metrics";
import { connectNats, feedStream, jetstreamManager, type NatsConnection } from "@pulse/nats";
import type { LiveConfig } from "./config";
import { computeFreshness, DerivedFigures, localDay, todaysMap } from "./derived";
import { Gateway, type BehindReason } from "./gateway";
import { createRoutes, wallConfig } from "./http-routes";
import { LiveFeed } from "./live-feed";
import { createLiveMetrics } from "./live-metrics";
import { LiveState, type KeepFn } from "./live-state";
import { lastChangeId } from "./sql/read-state";
import { readReported } from "./sql/read-reported";

export interface LiveDeps {
  /** A database handle to use instead of opening a pool of its own (tests, benches). The caller closes it. */
  db?: Db;
  log?: Logger;
  /** The clock (epoch ms) for "today" and freshness. Default Date.now; tests move it. */
  clock?: () => number;
}

export interface Live {
  /** Port of /live, /, /config.json, /healthz. */
  port: number;
  /** Port of /metrics and /healthz. */
  adminPort: number;
  /** Last LIVE sequence applied. */
  seq(): number;
  /** What heartbeats say is behind now. */
  behind(): readonly BehindReason[];
  close(): Promise<void>;
}

const dayMs = 86_400_000;

/** Equal derived values: numbers, null, or flat objects of them (a `rollup` value); cheaper than comparing JSON texts. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (!a || !b || typeof a !== "object" || typeof b !== "object") return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (x[k] !== y[k]) return false;
    n++;
  }
  return n === Object.keys(y).length;
}

/** Starts a gateway: state read, LIVE followed, sockets served. Resolves once both ports listen. */
export async function startLive(config: Readonly<LiveConfig>, deps: LiveDeps = {}): Promise<Live> {
  const log = deps.log ?? createLogger("live", config.logLevel);
  const clock = deps.clock ?? Date.now;
  const db = deps.db ?? createDb({ url: config.databaseUrl, poolMax: config.poolMax, applicationName: "pulse-live" });
  const nc: NatsConnection = await connectNats(config.natsUrl, "pulse-live");
  const { registry, metrics } = createLiveMetrics();

  // Day and minute keys only as far back as screens look (the protocol doc says so).
  const fromDay = (now: number) => localDay(now - (config.days - 1) * dayMs);
  const fromMinute = (now: number) => now - config.minutesHours * 3_600_000;
  let keepDay = fromDay(clock());
  let keepMinute = fromMinute(clock());
  const keep: KeepFn = (metric, key) => {
    if (metric === "esign_day" || metric === "egov_day") return key.day! >= keepDay;
    if (metric === "egov_minute") return Date.parse(key.minute!) >= keepMinute;
    return true;
  };
  const state = new LiveState(config.ringSize, keep, config.ringBytes);

  // --- what is behind ---------------------------------------------------------------------
  let natsUp = true;
  let dbUp = true;
  let relaySamples: { at: number; changeId: number }[] = [];
  let relayBehind = false;
  let streamSamples: { at: number; seq: number }[] = [];
  let streamBehind = false;
  let behindFeeds: ReadonlySet<Feed> = new Set();
  const judge = pipelineBehindJudge({ behindPending: config.behindPending, stallMs: config.stallMs });
  const behind = (): BehindReason[] => {
    const why: BehindReason[] = [];
    if (!feed.ready) why.push("loading");
    if (!natsUp) why.push("nats");
    if (!dbUp) why.push("database");
    if (relayBehind) why.push("relay");
    if (streamBehind) why.push("stream");
    return why;
  };
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") natsUp = false;
      else if (s.type === "reconnect") natsUp = true;
    }
  })();

  // --- derived topics ---------------------------------------------------------------------
  const derivedValues = new Map<string, unknown>();
  /** Per derived metric, the keys it produced last time: one no longer produced (an area that left the map at midnight) is set to null. */
  const derivedKeys = new Map<string, Map<string, Record<string, string>>>();
  let derivedVersion = 0;
  let lastFreshness = 0;
  let kpiDay = "";
  let loadedSinceDerive = true;
  const figures = new DerivedFigures();
  let reportedChanged = false;
  /** Subscriber or station changes since the last read of who reported today. */
  let reportedStale = true;
  let reportedAt = 0;
  const putDerived = (metric: string, map: Map<string, { key: object; value: unknown }>) => {
    const put = (k: string, key: Record<string, string>, value: unknown) => {
      const id = `${metric}|${k}`;
      if (sameValue(derivedValues.get(id), value)) return;
      derivedValues.set(id, value);
      derivedVersion = Math.max(Date.now(), derivedVersion + 1);
      state.put(metric, key, value as never, derivedVersion, 0, 0, true);
    };
    const before = derivedKeys.get(metric);
    const now = new Map<string, Record<string, string>>();
    for (const [k, { key, value }] of map) {
      now.set(k, key as Record<string, string>);
      put(k, key as Record<string, string>, value);
    }
    if (before) for (const [k, key] of before) if (!now.has(k)) put(k, key, null);
    derivedKeys.set(metric, now);
  };
  /** Source metrics changed since `kpi` and `rollup` were last computed. */
  let figuresDirty = false;
  let figuresAt = 0;
  const beforeTick = () => {
    if (!feed.ready) return;
    const now = clock();
    const m = state.dirtyMetrics;
    const day = localDay(now);
    if (m.has("subscribers") || m.has("bts_stations") || m.has("bts_station")) reportedStale = true;
    if (loadedSinceDerive) figures.reset();
    else figures.invalidate(m, state.dirty);
    if (m.has("subscribers") || m.has("bts_stations") || m.has("esign_day") || m.has("egov_day")) figuresDirty = true;
    // Under a steady flow the roll-ups are judged every derivedMs, not every tick: they are
    // sums over the whole state (some milliseconds), and a wall renders at most every 250 ms.
    const due = Date.now() - figuresAt >= config.derivedMs;
    if (loadedSinceDerive || day !== kpiDay || ((reportedChanged || figuresDirty) && due)) {
      kpiDay = day;
      figuresAt = Date.now();
      figuresDirty = false;
      reportedChanged = false;
      const { kpi, rollup } = figures.compute(state, now);
      putDerived("kpi", kpi);
      putDerived("rollup", rollup);
    }
    if (loadedSinceDerive || m.has("feed") || now - lastFreshness >= 1_000) {
      lastFreshness = now;
      putDerived("freshness", computeFreshness(state, now, behindFeeds));
    }
    loadedSinceDerive = false;
  };

  // --- the pieces -------------------------------------------------------------------------
  // The closures above and below use `feed` and `gateway` only once both exist (after start).
  const feed: LiveFeed = new LiveFeed({
    nc,
    db,
    names: config.names,
    state,
    log,
    window: () => {
      const now = clock();
      keepDay = fromDay(now);
      keepMinute = fromMinute(now);
      return { fromDay: keepDay, fromMinute: new Date(keepMinute) };
    },
    onApplied: () => {},
    onLoaded: (reason) => {
      metrics.rebuilds.inc();
      derivedValues.clear();
      derivedKeys.clear();
      loadedSinceDerive = true;
      beforeTick();
      gateway.loaded(reason);
    },
  });
  // The wall's configuration and its hash: heartbeats carry the hash of the map in force today, so
  // a wall loaded before a seeds change or before midnight of a map change reloads by itself.
  const configFor = (now: number) => wallConfig(config.operatorName, todaysMap(now));
  const gateway = new Gateway({ config, state, feed, metrics, log, behind, beforeTick, clock, configHash: () => configFor(clock()).hash });

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => Promise<void> | void) => {
    let busy = false;
    const t = setInterval(() => {
      if (busy) return;
      busy = true;
      void Promise.resolve()
        .then(fn)
        .catch(() => {})
        .finally(() => (busy = false));
    }, ms);
    timers.push(t);
  };
  // The relay is behind when a change committed a while ago has still not come through LIVE.
  every(1_000, async () => {
    const now = Date.now();
    try {
      const c = await lastChangeId(db.db);
      dbUp = true;
      relaySamples.push({ at: now, changeId: c });
    } catch {
      dbUp = false;
    }
    relaySamples = relaySamples.filter((s) => now - s.at <= config.relayBehindMs * 3);
    relayBehind = relaySamples.some((s) => now - s.at >= config.relayBehindMs && s.changeId > state.changeId);
  });
  // The same for LIVE itself: a message the stream held a while ago and this gateway has still
  // not applied. (Not "the stream is ahead right now": under a steady flow it always is, by a
  // few milliseconds.)
  every(1_000, async () => {
    if (!feed.ready) return;
    const now = Date.now();
    try {
      const { last } = await feed.bounds();
      streamSamples.push({ at: now, seq: last });
    } catch {
      /* NATS down: said by natsUp */
    }
    streamSamples = streamSamples.filter((s) => now - s.at <= config.relayBehindMs * 3);
    streamBehind = streamSamples.some((s) => now - s.at >= config.relayBehindMs && s.seq > state.seq);
  });
  // Ingest's feed consumers, judged as the exporter judges them (contracts' pipelineBehindJudge).
  every(2_000, async () => {
    const jsm = await jetstreamManager(nc, { checkAPI: false, timeout: 2_000 });
    const now = Date.now();
    const next = new Set<Feed>();
    for (const f of feeds) {
      let info;
      try {
        info = await jsm.consumers.info(feedStream(config.names, f), consumerName(f, config.names.consumerPrefix));
      } catch (err) {
        if (/not found/i.test((err as Error).message)) continue;
        throw err;
      }
      if (judge(f, { pending: info.num_pending, deliveredSeq: info.delivered.stream_seq }, now)) next.add(f);
    }
    behindFeeds = next;
  });
  // Who reported for each area today: read again soon after subscriber or station changes, and at
  // least every 15 s (the day turns, a reading dated yesterday is not today's).
  const readWhoReported = async () => {
    const now = clock();
    reportedStale = false;
    reportedAt = Date.now();
    const pairs = await readReported(db.db, new Date(localDayStart(now)));
    if (figures.setReported(pairs)) reportedChanged = true;
  };
  every(1_000, async () => {
    if (!feed.ready || (!reportedStale && Date.now() - reportedAt < 15_000)) return;
    await readWhoReported();
  });
  every(60_000, () => {
    const now = clock();
    keepDay = fromDay(now);
    keepMinute = fromMinute(now);
    state.prune();
  });
  every(1_000, () => {
    metrics.seq.set(state.seq);
    metrics.keys.set(state.entries.size);
    metrics.behind.set(behind().length > 0 ? 1 : 0);
  });

  const health = () => ({ ok: feed.ready, seq: state.seq, clients: gateway.clientCount, behind: behind() });
  const routes = createRoutes({ wallDir: config.wallDir, config: () => configFor(clock()), health });
  const server: Server = createServer((req, res) => {
    routes(req, res).catch((err) => {
      res.writeHead(500);
      res.end(String((err as Error).message));
    });
  });
  server.on("upgrade", (req, socket, head) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/live") {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    gateway.handleUpgrade(req, socket, head);
  });
  feed.start();
  gateway.start();
  // Serve with the state read when Postgres answers; without it, listen anyway (heartbeats say
  // `loading`, subscriptions wait) rather than refuse to start.
  if (!(await feed.waitReady(config.startWaitMs)))
    log.warn("state not read from Postgres yet; serving, subscriptions wait for it", { error: feed.lastError });
  else {
    await readWhoReported().catch(() => {});
    beforeTick();
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  let admin: MetricsServer;
  try {
    admin = await startMetricsServer({ port: config.adminPort, host: config.host, registry, health });
  } catch (err) {
    server.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  log.info("live gateway listening", {
    port,
    adminPort: admin.port,
    access: config.tokens ? `${config.tokens.length} viewer token(s)` : "open: LIVE_TOKENS unset, any client may connect",
    origins: config.origins ?? "any",
  });
  if (!config.tokens) log.warn("LIVE_TOKENS is not set: the gateway is open to any client (fine for local use only)");

  let closed: Promise<void> | null = null;
  return {
    port,
    adminPort: admin.port,
    seq: () => state.seq,
    behind,
    close: () =>
      (closed ??= (async () => {
        for (const t of timers) clearInterval(t);
        // Stop accepting first, then say goodbye to the sockets, then let go of NATS and Postgres.
        server.close();
        await gateway.close();
        server.closeAllConnections();
        await feed.close();
        await nc.drain().catch(() => {});
        await admin.close();
        if (!deps.db) await db.close();
      })()),
  };
}
