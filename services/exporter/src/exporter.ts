import { createLogger, type Logger } from "@pulse/config";
import { domainMetrics, exporterMetrics } from "@pulse/contracts";
import { createDb, type Db } from "@pulse/db";
import { createRegistry, makeMetrics, startMetricsServer, type Gauge, type MetricsServer, type Registry } from "@pulse/metrics";
import type { ExporterConfig } from "./config";
import { buildFigures, dayWindow, type Figures } from "./figures";
import { seededLabelSets, type LabelSets } from "./label-sets";
import { createPipelineWatch, type PipelineWatch } from "./pipeline-watch";
import { readFigures } from "./sql/read-figures";

export interface ExporterDeps {
  /** The clock (epoch ms) for "today" and freshness. Default Date.now; tests move it. */
  clock?: () => number;
  log?: Logger;
  /** Label sets; default from seeds. */
  labelSets?: LabelSets;
}

export interface Exporter {
  /** The port /metrics listens on (after start). */
  readonly port: number;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Reads the tables now, whatever the cache (tests, bench). */
  refresh(): Promise<void>;
  /** The figures of the last successful read (null before the first). */
  figures(): Figures | null;
  readonly registry: Registry;
  readonly pipeline: PipelineWatch;
}

/**
 * The Prometheus exposition of Pulse's domain figures. A scrape reads the current tables (one
 * query per table, whatever the number of label sets) at most once per `cacheMs`; concurrent
 * scrapes share one read. When the database fails, the last good figures are served and
 * `pulse_exporter_db_up` drops to 0.
 */
export function createExporter(config: Readonly<ExporterConfig>, deps: ExporterDeps = {}): Exporter {
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? createLogger("exporter", config.logLevel);
  const sets = deps.labelSets ?? seededLabelSets();
  const registry = createRegistry("exporter");
  const own = makeMetrics(registry, exporterMetrics);
  const pipeline = createPipelineWatch({ natsUrl: config.natsUrl, names: config.names, behindPending: config.behindPending, stallMs: config.stallMs, log, clock });

  let db: Db | null = null;
  let server: MetricsServer | null = null;
  let last: Figures | null = null;
  let lastAt = Number.NEGATIVE_INFINITY;
  let inflight: Promise<void> | null = null;

  const read = async () => {
    if (!db) throw new Error("exporter not started");
    const started = performance.now();
    const now = clock();
    const { today, from30 } = dayWindow(now);
    try {
      const rows = await readFigures(db.db, today, from30);
      const figures = buildFigures(sets, rows, now, pipeline.behind());
      apply(figures);
      last = figures;
      lastAt = performance.now();
      own.dbUp.set(1);
      own.lastRefresh.set(Date.now() / 1000);
    } catch (err) {
      own.dbErrors.inc();
      own.dbUp.set(0);
      log.warn("could not read the figures; serving the last good ones", { error: (err as Error).message });
      // Retry on the next scrape rather than serving stale figures for a whole cache period.
      lastAt = Number.NEGATIVE_INFINITY;
    } finally {
      own.refreshSeconds.observe((performance.now() - started) / 1000);
      own.natsUp.set(pipeline.up() ? 1 : 0);
    }
  };

  const refresh = (): Promise<void> => (inflight ??= read().finally(() => (inflight = null)));
  const ensureFresh = (): Promise<void> => (performance.now() - lastAt < config.cacheMs ? Promise.resolve() : refresh());

  const gauges: Record<keyof typeof domainMetrics, Gauge> = makeMetrics(registry, domainMetrics);

  const apply = (f: Figures) => {
    for (const k of Object.keys(domainMetrics) as (keyof typeof domainMetrics)[]) {
      const g = gauges[k];
      // Reset first: a folded `other` series that no longer has rows must go, not linger.
      g.reset();
      for (const { labels, value } of f[k].values()) g.set(labels, value);
    }
    own.folded.reset();
    for (const [k, values] of f.folded) {
      const [metric, label] = k.split("|") as [string, string];
      own.folded.set({ metric, label }, values.size);
    }
  };

  // The read happens before rendering, not in prom-client's collect hooks: the registry renders
  // all metrics side by side, so a metric without the hook (a counter, the exporter's own health)
  // would show the previous read. The registry is wrapped so the server stays generic.
  const served: Registry = Object.create(registry, {
    metrics: {
      value: async () => {
        const t = performance.now();
        try {
          await ensureFresh();
          return await registry.metrics();
        } finally {
          own.scrapeSeconds.observe((performance.now() - t) / 1000);
        }
      },
    },
  });

  return {
    get port() {
      return server?.port ?? config.port;
    },
    registry,
    pipeline,
    figures: () => last,
    refresh,
    async start() {
      db = createDb({ url: config.databaseUrl, poolMax: config.poolMax, applicationName: "pulse-exporter" });
      await pipeline.start();
      await refresh();
      server = await startMetricsServer({
        port: config.port,
        host: config.host,
        registry: served,
        health: async () => {
          await ensureFresh();
          const dbUp = (await own.dbUp.get()).values[0]?.value === 1;
          return { ok: dbUp, db: dbUp ? "up" : "down", nats: config.natsUrl ? (pipeline.up() ? "up" : "down") : "off" };
        },
      });
      log.info("exporter listening", { port: server.port });
    },
    async close() {
      await server?.close();
      server = null;
      await pipeline.close();
      await inflight?.catch(() => {});
      await db?.close();
      db = null;
    },
  };
}

/** Creates the exporter and starts it: `/metrics` and `/healthz` answer when this resolves. */
export async function startExporter(config: Readonly<ExporterConfig>, deps: ExporterDeps = {}): Promise<Exporter> {
  const exporter = createExporter(config, deps);
  await exporter.start();
  return exporter;
}
