import type { Feed } from "@pulse/contracts";
import { feedStream, jetstream, jetstreamManager, withPrefix, type NatsConnection, type StreamNames } from "@pulse/nats";
import { localDayStart } from "./local-time";

/**
 * Where the event feeds of a source stand, read from JetStream itself (the simulator never needs
 * the database): the `ts` of the last record of `feeds.<feed>.<source>` in the stream. Records are
 * published in time order, so that is the high-water mark. Malformed or unreadable messages are
 * stepped over (up to 200 back). Null when the stream holds nothing of this source.
 */
export async function lastPublishedTs(nc: NatsConnection, names: StreamNames, feed: Feed, source: string): Promise<number | null> {
  const jsm = await jetstreamManager(nc);
  const stream = feedStream(names, feed);
  const subject = withPrefix(names, `feeds.${feed}.${source}`);
  let m;
  try {
    m = await jsm.streams.getMessage(stream, { last_by_subj: subject });
  } catch {
    return null;
  }
  for (let steps = 0; m && steps < 200; steps++) {
    if (m.subject === subject) {
      try {
        const ts = Date.parse(m.json<{ ts: string }>().ts);
        if (Number.isFinite(ts)) return ts;
      } catch {
        /* malformed: step back */
      }
    }
    if (m.seq <= 1) break;
    try {
      m = await jsm.streams.getMessage(stream, { seq: m.seq - 1 });
    } catch {
      break;
    }
  }
  return null;
}

export interface ResumePoint {
  /** True when nothing of today is in the feed streams yet: backfill the day so far. */
  fresh: boolean;
  /** Records at or before this time were already published (per source). */
  after: Record<string, number>;
}

/** Fresh when neither the e-document nor the portal stream holds a record of today (UTC+7). */
export async function resumePoint(nc: NatsConnection, names: StreamNames, now: number): Promise<ResumePoint> {
  const today = localDayStart(now);
  const esign = await lastPublishedTs(nc, names, "esign", "edoc");
  const egov = await lastPublishedTs(nc, names, "egov", "dvc");
  const after: Record<string, number> = {};
  if (esign !== null && esign >= today) after.edoc = esign;
  if (egov !== null && egov >= today) after.dvc = egov;
  return { fresh: Object.keys(after).length === 0, after };
}

/**
 * The latest count of every subscriber gauge of our carriers in the stream (key
 * `source/service/area`), read back from its last `maxMessages` messages, so a restart carries on
 * from where the counts had drifted instead of jumping back to the article's figures.
 */
export async function lastGaugeCounts(nc: NatsConnection, names: StreamNames, maxMessages = 3_000): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc);
  const stream = feedStream(names, "subscribers");
  const out = new Map<string, { count: number; ts: number; rev: number }>();
  let info;
  try {
    info = await jsm.streams.info(stream);
  } catch {
    return new Map();
  }
  const last = info.state.last_seq;
  const first = Math.max(info.state.first_seq, last - maxMessages + 1);
  if (last === 0) return new Map();
  const prefix = withPrefix(names, "feeds.subscribers.");
  // One ordered consumer from `first`, fetched in one go: a round trip per message would take
  // seconds on a busy machine.
  const consumer = await jetstream(nc).consumers.get(stream, { deliver_policy: "by_start_sequence" as never, opt_start_seq: first });
  const messages = await consumer.fetch({ max_messages: last - first + 1, expires: 5_000 });
  for await (const m of messages) {
    if (m.subject.startsWith(prefix)) {
      try {
        const e = m.json<{ source: string; area: string; ts: string; revision?: number; data: { service: string; count: number } }>();
        const key = `${e.source}/${e.data.service}/${e.area}`;
        const ts = Date.parse(e.ts);
        const had = out.get(key);
        // Gauge order as ingest's: (ts, revision).
        if (
          Number.isFinite(ts) &&
          Number.isInteger(e.data.count) &&
          (!had || ts > had.ts || (ts === had.ts && (e.revision ?? 0) > had.rev))
        ) {
          out.set(key, { count: e.data.count, ts, rev: e.revision ?? 0 });
        }
      } catch {
        /* malformed: not a reading */
      }
    }
    if (m.seq >= last) break;
  }
  return new Map([...out].map(([k, v]) => [k, v.count]));
}
