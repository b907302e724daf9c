import { createLogger, type Logger } from "@pulse/config";
import { exporterMetrics } from "@pulse/contracts";
import { createDb, type Db } from "@pulse/db";
import { createRegistry, makeMetrics, startMetricsServer, type MetricsServer, type Registry } from "@pulse/metrics";
import type { ExporterConfig } from "./config";
import { buildFigures, dayWindow, emptyFigures, type Figures } from "./figures";
import { seededLabelSets, type LabelSets } from "./label-sets";
import { createPipelineWatch, type PipelineWatch } from "./pipeline-watch";
import { createTextRenderer } from "./render-text";
import { readFigures } from "./sql/read-figures";

export interface ExporterDeps {
  /** The clock (epoch ms) for "today" and freshness. Default Date.now; tests move it. */
  clock?: () => number;
  log?: Logger;
  /** Label sets; default from seeds. */
  labelSets?: LabelSets;
  /** A database handle to use instead of opening a pool of its own (tests, benches). The caller closes it. */
  db?: Db;
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
 * The Prometheus exposition of Pulse's domain figures.
 *
 * With `cacheMs > 0` (default 1 s) the tables are read in the background every `cacheMs` (one
 * query per table, whatever the number of label sets) and rendered once per read; a scrape only
 * serves that text plus the exporter's own health, so its cost does not depend on the number of
 * events, nor on how many Prometheus servers scrape. Figures are at most `cacheMs` plus one read
 * old. With `cacheMs = 0` every scrape reads the tables first (tests). When the database fails,
 * the last good figures are served and `pulse_exporter_db_up` drops to 0.
 */
export function createExporter(config: Readonly<ExporterConfig>, deps: ExporterDeps = {}): Exporter {
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? createLogger("exporter", config.logLevel);
  const sets = deps.labelSets ?? seededLabelSets();
  const registry = createRegistry("exporter");
  const own = makeMetrics(registry, exporterMetrics);
  const render = createTextRenderer();
  const pipeline = createPipelineWatch({
    natsUrl: config.natsUrl,
    natsAuth: config.natsAuth,
    names: config.names,
    behindPending: config.behindPending,
    stallMs: config.stallMs,
    log,
    clock,
  });

  let db: Db | null = null;
  let server: MetricsServer | null = null;
  let last: Figures | null = null;
  let inflight: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  /**
   * The domain metrics' text as of the last read (`domainMetrics` of contracts): a scrape serves it
   * as is. Rendered whole from each read, so a folded `other` series with no rows left goes.
   */
  let rendered = "";

  const apply = (f: Figures) => {
    rendered = render(f);
    own.folded.reset();
    for (const [k, values] of f.folded) {
      const [metric, label] = k.split("|") as [string, string];
      own.folded.set({ metric, label }, values.size);
    }
  };

  const read = async () => {
    if (!db) return; // closed meanwhile
    const started = performance.now();
    const now = clock();
    const { today, from30 } = dayWindow(now);
    try {
      const rows = await readFigures(db.db, today, from30);
      const figures = buildFigures(sets, rows, now, pipeline.behind());
      apply(figures);
      last = figures;
      own.dbUp.set(1);
      own.lastRefresh.set(Date.now() / 1000);
    } catch (err) {
      own.dbErrors.inc();
      own.dbUp.set(0);
      log.warn("could not read the figures; serving the last good ones", { error: (err as Error).message });
    } finally {
      own.refreshSeconds.observe((performance.now() - started) / 1000);
      own.natsUp.set(pipeline.up() ? 1 : 0);
    }
  };

  // Concurrent callers share one read.
  const refresh = (): Promise<void> => (inflight ??= read().finally(() => (inflight = null)));
  const ensureFresh = (): Promise<void> => (config.cacheMs === 0 ? refresh() : Promise.resolve());

  const loop = () => {
    if (closed || config.cacheMs === 0) return;
    timer = setTimeout(() => void refresh().finally(loop), config.cacheMs);
  };

  // The server renders through this: the domain metrics from the text of the last read, the rest
  // (own health, process defaults) live from the registry.
  const served: Registry = Object.create(registry, {
    metrics: {
      value: async () => {
        const t = performance.now();
        try {
          await ensureFresh();
          return rendered + (await registry.metrics());
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
      // Zero-filled from the start, even when the database does not answer yet.
      apply(emptyFigures(sets, clock()));
      db = deps.db ?? createDb({ url: config.databaseUrl, poolMax: config.poolMax, applicationName: "pulse-exporter" });
      await pipeline.start();
      await refresh();
      loop();
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
      log.info("exporter listening", { port: server.port, cacheMs: config.cacheMs });
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await server?.close();
      server = null;
      await pipeline.close();
      await inflight?.catch(() => {});
      if (db && db !== deps.db) await db.close();
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
