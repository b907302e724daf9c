import { createLogger, type Logger } from "@pulse/config";
import { feeds, subjects } from "@pulse/contracts";
import { connectNats, feedStream, jetstreamManager, withPrefix, type NatsConnection } from "@pulse/nats";
import { sources } from "@pulse/seeds";
import { BtsProcess } from "./bts";
import { realClock, type Clock } from "./clock";
import type { SimulatorConfig } from "./config";
import { EgovProcess } from "./egov";
import { EsignProcess } from "./esign";
import { FaultInjector, type Injected } from "./faults";
import { localDayStart, localIso } from "./local-time";
import { Publisher, type OutMessage, type PublishStats } from "./publisher";
import type { SimProcess, SimRecord } from "./record";
import { lastGaugeCounts, resumePoint, type ResumePoint } from "./resume";
import { SubscribersProcess } from "./subscribers";

export interface SimulatorStats {
  fresh: boolean;
  /** Per source, the last record's time already in the stream when we started (non-fresh start). */
  resumedAfter: Record<string, string>;
  /** Records generated and sent (faults aside), by feed. */
  records: Record<string, number>;
  /** Of them, sent by the backfill (today before the start). */
  backfilled: number;
  /** Messages handed to NATS (records, duplicates, restatements, malformed, flood). */
  messages: number;
  publish: PublishStats;
  injected: Injected;
  startedAt: number;
  /** When the inventory and the backfill were all acknowledged. */
  caughtUpAt: number | null;
}

export interface Simulator {
  stats(): SimulatorStats;
  /** Resolves when the run ends (its duration, or close()), every publish acknowledged. */
  done: Promise<SimulatorStats>;
  /** Ends the live phase, sends what is held back, waits for the acknowledgements. */
  close(): Promise<SimulatorStats>;
}

export interface SimulatorDeps {
  log?: Logger;
  clock?: Clock;
  /** A connection to use (not closed by the simulator). Default: connect to config.natsUrl. */
  nc?: NatsConnection;
  /**
   * Instead of NATS, hand every message here (determinism tests). The run is then taken as fresh
   * unless `resume` says otherwise.
   */
  sink?: (m: OutMessage) => void;
  resume?: ResumePoint;
}

/** A producer does not create streams: ingest does. Without them every publish would time out, so say so at once. */
async function requireStreams(nc: NatsConnection, names: SimulatorConfig["names"]): Promise<void> {
  const jsm = await jetstreamManager(nc);
  for (const feed of feeds) {
    try {
      await jsm.streams.info(feedStream(names, feed));
    } catch (err) {
      throw new Error(
        `no JetStream stream ${feedStream(names, feed)} (${(err as Error).message}): start ingest first (pnpm start, or tsx services/ingest/src/main.ts), it creates the streams`,
        { cause: err },
      );
    }
  }
}

/** A short tag of the seed in every id, so two worlds (two seeds) never share an id. */
export const seedTag = (seed: number) => seed.toString(36);

/**
 * The simulator: Nghệ An's four carriers, the e-document system and the public-service portal.
 * On start it sends the carriers' inventory (every subscriber gauge and every station, at the
 * article's totals), backfills today so far on a fresh stream (or resumes after what the stream
 * already holds), then runs live, each source at its cadence, with the faults asked for.
 */
export async function startSimulator(config: Readonly<SimulatorConfig>, deps: SimulatorDeps = {}): Promise<Simulator> {
  const log = deps.log ?? createLogger("simulator", config.logLevel);
  const clock = deps.clock ?? realClock;
  const ownNc = !deps.sink && !deps.nc;
  const nc = deps.sink ? null : (deps.nc ?? (await connectNats(config.natsUrl, "pulse-simulator", { ...config.natsAuth, log })));
  const names = config.names;
  const subjectOf = (r: Pick<SimRecord, "feed" | "source">) => withPrefix(names, subjects.feed(r.feed, r.source));

  const publisher = nc ? new Publisher(nc, { inFlight: config.inFlight, timeoutMs: config.publishTimeoutMs, maxAttempts: 10, log }) : null;
  const out = {
    async publish(m: OutMessage) {
      stats.messages++;
      if (publisher) await publisher.publish(m);
      else deps.sink!(m);
    },
    flush: async () => publisher?.flush(),
  };
  if (publisher) {
    const ours = sources.map((s) => s.id);
    publisher.listenRejects(
      ours.map((s) => withPrefix(names, subjects.rejects(s))),
      (r) => log.info("ingest refused a message", { reason: r.reason, id: r.id, detail: r.detail.slice(0, 120) }),
    );
  }

  if (nc) await requireStreams(nc, names);
  const t0 = clock.now();
  const resume = deps.resume ?? (nc ? await resumePoint(nc, names, t0) : { fresh: true, after: {} });
  const dayStart = localDayStart(t0);
  const tag = seedTag(config.seed);
  // Where the event feeds' generation starts. Each slot draws from its own PRNG, so starting later
  // changes no slot's events. On a resume, at the last record sent; for dossiers 4 h before it
  // (the longest same-day delay), so dossiers received before it are still resolved after it.
  const afters = Object.values(resume.after);
  const resumeAt = afters.length ? Math.min(...afters) : dayStart;
  const esignFrom = resume.fresh ? (config.backfill ? dayStart : t0) : Math.max(dayStart, resumeAt);
  const egovFrom = resume.fresh ? esignFrom : Math.max(dayStart, resumeAt - 4 * 3_600_000);
  // A restart carries the subscriber counts on from the stream; a fresh start begins at the article's.
  const counts = nc && !resume.fresh ? await lastGaugeCounts(nc, names) : new Map<string, number>();
  const processes: SimProcess[] = [
    new SubscribersProcess(config.seed, config.rate, t0, counts),
    new BtsProcess(config.seed, config.rate, t0),
    new EsignProcess(config.seed, config.rate, esignFrom, tag),
    new EgovProcess(config.seed, config.rate, egovFrom, tag),
  ];
  // Event records at or before these times are not sent: already in the stream, or before the start.
  const skipUntil: Record<string, number> = {};
  for (const s of ["edoc", "dvc"]) {
    const after = resume.after[s];
    if (after !== undefined) skipUntil[s] = after;
    else if (resume.fresh && !config.backfill) skipUntil[s] = t0 - 1;
  }
  // A future-dated fault must be in the future of the broker's receipt, and the broker keeps real
  // time: with a clock set in the past (tests), the later of the two. A sink has no broker.
  const brokerNow = deps.sink ? () => clock.now() : () => Math.max(clock.now(), Date.now());
  const faults = new FaultInjector(config.faults, config.seed, subjectOf, tag, brokerNow);
  const stats: SimulatorStats = {
    fresh: resume.fresh,
    resumedAfter: Object.fromEntries(Object.entries(resume.after).map(([k, v]) => [k, localIso(v)])),
    records: {},
    backfilled: 0,
    messages: 0,
    get publish() {
      return (
        publisher?.stats ?? {
          published: 0,
          brokerDuplicates: 0,
          retryDuplicates: 0,
          unexpectedDuplicates: 0,
          retries: 0,
          failed: 0,
          rejects: {},
        }
      );
    },
    injected: faults.injected,
    startedAt: t0,
    caughtUpAt: null,
  };

  const due = (until: number): SimRecord[] => {
    const rs: SimRecord[] = [];
    for (const p of processes) {
      for (const r of p.take(until)) {
        const skip = skipUntil[r.source];
        if (skip !== undefined && r.tsMs <= skip) continue;
        rs.push(r);
        stats.records[r.feed] = (stats.records[r.feed] ?? 0) + 1;
      }
    }
    return rs;
  };

  let stopping = false;
  let wake: (() => void) | null = null;
  const run = async (): Promise<SimulatorStats> => {
    try {
      // Inventory and backfill: everything up to now, as fast as the window allows, ten minutes
      // of the day at a time (at a high rate a day so far is millions of records: never all in memory).
      log.info(
        resume.fresh
          ? config.backfill
            ? "fresh stream: backfilling today so far"
            : "fresh stream: no backfill (SIMULATOR_BACKFILL=0)"
          : "today's records already in the stream: resuming after them",
        { resumedAfter: stats.resumedAfter, gaugesCarriedOn: counts.size, seed: config.seed, rate: config.rate },
      );
      for (let t = dayStart + 600_000; ; t += 600_000) {
        const until = Math.min(t, t0 + 1);
        const chunk = due(until);
        stats.backfilled += chunk.filter((r) => r.feed === "esign" || r.feed === "egov").length;
        for (const m of faults.apply(chunk, until)) await out.publish(m);
        if (until > t0 || stopping) break;
      }
      await out.flush();
      stats.caughtUpAt = clock.now();
      log.info("inventory and backfill acknowledged", {
        messages: stats.messages,
        backfilled: stats.backfilled,
        seconds: (stats.caughtUpAt - t0) / 1000,
      });

      const liveFrom = clock.now();
      faults.startLive(liveFrom);
      for (const m of faults.flood(config.faults.flood, liveFrom)) await out.publish(m);
      const end = config.durationS > 0 ? liveFrom + config.durationS * 1000 : Number.POSITIVE_INFINITY;
      let lastLog = liveFrom;
      let lastCount = stats.messages;
      while (!stopping) {
        const now = Math.min(clock.now(), end);
        for (const m of faults.apply(due(now), now)) await out.publish(m);
        if (now >= end) break;
        if (now - lastLog >= 30_000) {
          log.info("publishing", {
            messages: stats.messages,
            per_s: Math.round(((stats.messages - lastCount) * 1000) / (now - lastLog)),
            rejects: stats.publish.rejects,
          });
          lastLog = now;
          lastCount = stats.messages;
        }
        await Promise.race([clock.sleep(config.tickMs), new Promise<void>((r) => (wake = r))]);
      }
      for (const m of faults.apply([], clock.now(), true)) await out.publish(m);
      await out.flush();
      return stats;
    } finally {
      publisher?.close();
      if (ownNc) await nc?.drain().catch(() => {});
    }
  };
  const done = run();
  done.catch((err) => log.error("simulator stopped", { error: String((err as Error)?.message ?? err) }));

  return {
    stats: () => stats,
    done,
    async close() {
      stopping = true;
      wake?.();
      return done;
    },
  };
}
