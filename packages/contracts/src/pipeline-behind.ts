/**
 * When is ingest behind on a feed, so that a quiet feed is `pipeline_behind` rather than the
 * producer's fault (see `freshness()`)? One rule for every reader of the feed consumers' info
 * (the exporter, the live gateway), as the exporter first judged it:
 * - a backlog of at least `behindPending` undelivered messages, or
 * - pending messages while the consumer's delivered stream sequence has not moved for `stallMs`
 *   (ingest down, or paused on an unreachable database).
 */
export interface PipelineBehindOptions {
  /** Undelivered messages that mean ingest is behind. Default 1,000. */
  behindPending?: number;
  /** How long pending messages may sit with the delivered sequence unmoved, ms. Default 30,000. */
  stallMs?: number;
}

/** What a feed consumer's info says, as read from JetStream. */
export interface ConsumerProgress {
  /** `num_pending`: messages in the stream not yet delivered. */
  pending: number;
  /** `delivered.stream_seq`: the last stream sequence delivered. */
  deliveredSeq: number;
}

export const defaultBehindPending = 1_000;
export const defaultStallMs = 30_000;

/**
 * A judge that remembers, per feed, since when the delivered sequence has not moved; call it on
 * every poll with that poll's time (epoch ms).
 */
export function pipelineBehindJudge(options: PipelineBehindOptions = {}) {
  const behindPending = options.behindPending ?? defaultBehindPending;
  const stallMs = options.stallMs ?? defaultStallMs;
  const progress = new Map<string, { seq: number; since: number }>();
  return (feed: string, info: ConsumerProgress, now: number): boolean => {
    const p = progress.get(feed);
    if (!p || p.seq !== info.deliveredSeq || info.pending === 0) progress.set(feed, { seq: info.deliveredSeq, since: now });
    const stalled = info.pending > 0 && p !== undefined && p.seq === info.deliveredSeq && now - p.since >= stallMs;
    return info.pending >= behindPending || stalled;
  };
}
