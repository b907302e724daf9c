import type { Feed } from "./subjects";
import type { FeedData } from "./feeds";

/** The JSON a producer publishes, one record per message (DESIGN.md, "Contracts"). */
export interface Envelope<F extends Feed = Feed> {
  v: 1;
  /** Idempotency key, unique per source. */
  id: string;
  source: string;
  /** RFC 3339 with an offset. */
  ts: string;
  /** Official area code from seeds. */
  area: string;
  /** A higher revision of the same (source, id) replaces the earlier one. Default 0. */
  revision?: number;
  data: FeedData[F];
}

/** A message that passed every check: what ingest aggregates. */
export type FeedEvent = {
  [F in Feed]: {
    feed: F;
    source: string;
    id: string;
    revision: number;
    /** The producer's ts, as sent (Postgres parses the offset). */
    ts: string;
    /** The same instant in epoch milliseconds. */
    tsMs: number;
    area: string;
    data: FeedData[F];
  };
}[Feed];
