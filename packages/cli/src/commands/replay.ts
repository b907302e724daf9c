import { feeds, isFeed, type Feed } from "@pulse/contracts";
import {
  replayBtsStations,
  replayEgovBuckets,
  replayEsignBuckets,
  replaySubscriberGauges,
  replayTransaction,
  type ReplayChange,
  type ReplayResult,
  type Executor,
} from "@pulse/db";
import { CliError, UsageError } from "../cli-error";
import type { CliConfig } from "../config";
import { announceWriteTarget, openDb } from "../connect";
import { formatTable, printJson, type CliIo } from "../io";
import { progress } from "../progress";
import { localDay, localTime, parseLocalDay } from "../time-args";

const dayMs = 86_400_000;

const rebuild: Record<Feed, (trx: Executor, from: Date, to: Date, prunedBefore: Date) => Promise<ReplayResult>> = {
  subscribers: replaySubscriberGauges,
  bts: (trx, from, to, prunedBefore) => replayBtsStations(trx, from, to, { prunedBefore }),
  esign: replayEsignBuckets,
  egov: replayEgovBuckets,
};

/**
 * `pulse replay --from D --to D [--feed F] [--dry-run]`: rebuilds whole UTC+7 days from the raw
 * events, one transaction per day and feed holding that feed's lock (the one ingest's batches
 * take), so it runs beside a live ingest: a batch waits for the replay's commit and then applies
 * its own changes on top of the rebuilt figures. Rebuilt values go to the change log, so live
 * screens follow. Idempotent: a second run changes nothing.
 */
export async function replay(
  io: CliIo,
  config: CliConfig,
  o: { from: string; to: string; feed?: string; dryRun?: boolean; json?: boolean },
): Promise<number> {
  const first = parseLocalDay(o.from, "--from");
  const last = parseLocalDay(o.to, "--to");
  if (last < first) throw new UsageError(`--to (${o.to}) is before --from (${o.from})`);
  const days = (last - first) / dayMs + 1;
  if (days > 366) throw new UsageError(`at most 366 days at once, got ${days}`);
  if (o.feed !== undefined && !isFeed(o.feed))
    throw new UsageError(`--feed must be one of ${feeds.join(", ")}; got ${JSON.stringify(o.feed)}`);
  const which: Feed[] = o.feed ? [o.feed as Feed] : [...feeds];
  // Raw events are pruned by receipt time; an event may arrive up to INGEST_MAX_FUTURE_MS before
  // its ts. A day that starts before (now − retention + that) may have lost raw events already,
  // and rebuilding it would drop their counts: refused.
  const horizon = Date.now() - config.retentionDays * dayMs + config.maxFutureMs;
  if (first < horizon) {
    throw new CliError(
      `${o.from} is older than the raw-event retention allows (EVENTS_RETENTION_DAYS=${config.retentionDays}): its raw events may be pruned already, ` +
        `and a rebuild would lose what they counted. The earliest day that can be rebuilt is ${localDay(horizon + dayMs - 1)}.`,
    );
  }
  if (!o.dryRun) announceWriteTarget(io, config, "database");
  const db = await openDb(config);
  const bar = progress(io, days * which.length, o.dryRun ? "checking" : "replaying", !o.json);
  const done: { day: string; feed: Feed; events: number; changes: ReplayChange[] }[] = [];
  try {
    for (let d = first; d <= last; d += dayMs) {
      for (const feed of which) {
        const r = await replayTransaction(db, feeds.indexOf(feed), o.dryRun ?? false, (trx) =>
          rebuild[feed](trx, new Date(d), new Date(d + dayMs), new Date(horizon)),
        );
        done.push({ day: localDay(d), feed, events: r.events, changes: r.changes });
        bar.tick();
      }
    }
  } finally {
    bar.stop();
    await db.close();
  }
  const changed = done.reduce((n, x) => n + x.changes.length, 0);
  if (o.json) {
    printJson(io, { dry_run: o.dryRun ?? false, from: o.from, to: o.to, feeds: which, changed, days: done });
    return 0;
  }
  io.stdout.write(
    formatTable(
      ["day", "feed", "raw events", o.dryRun ? "would change" : "changed"],
      done.map((x) => [x.day, x.feed, x.events, x.changes.length]),
    ),
  );
  const all = done.flatMap((x) => x.changes);
  if (all.length > 0) {
    const shown = all.slice(0, 200);
    io.stdout.write(`\n${o.dryRun ? "would change" : "changed"}:\n`);
    io.stdout.write(
      formatTable(
        ["table", "key", "before", "after"],
        shown.map((c) => [c.table, keyText(c.key), show(c.before), show(c.after)]),
      ),
    );
    if (all.length > shown.length) io.stdout.write(`… and ${all.length - shown.length} more (--json lists every one)\n`);
  }
  io.stdout.write(
    o.dryRun
      ? `dry run: ${changed} row${changed === 1 ? "" : "s"} would change; nothing was written\n`
      : `${changed} row${changed === 1 ? "" : "s"} rebuilt${changed ? " and written to the change log" : ": every figure already matched its raw events"}\n`,
  );
  return 0;
}

/** A key as an operator reads it: bucket times in local time (UTC+7). */
const keyText = (k: Record<string, string>): string =>
  Object.entries(k)
    .map(([name, v]) => (name === "bucket" ? (k.grain === "day" ? localDay(Date.parse(v)) : localTime(new Date(v))) : v))
    .join(" ");

const show = (v: unknown): string => (v === null ? "(none)" : typeof v === "object" ? JSON.stringify(v) : String(v));
