import type { Feed } from "@pulse/contracts";
import { feedStream, jetstreamManager, withPrefix, type NatsConnection, type StreamNames } from "@pulse/nats";
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
