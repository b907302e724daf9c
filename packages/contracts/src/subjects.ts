/** The four feeds producers may publish. A subject outside these is refused by the stream itself. */
export const feeds = ["subscribers", "bts", "esign", "egov"] as const;
export type Feed = (typeof feeds)[number];

export const isFeed = (value: string): value is Feed => (feeds as readonly string[]).includes(value);

/** Stream and consumer names, and the subjects built from them. */
export const streams = {
  /** Producers' feeds, `feeds.<feed>.<source>`: one stream per feed, FEEDS_<FEED>. */
  feeds: "FEEDS",
  /** The change log relayed in order: `live.<metric>`. Its sequence is the one global sequence. */
  live: "LIVE",
} as const;

export const subjects = {
  feed: (feed: Feed, source: string) => `feeds.${feed}.${source}`,
  /** Every subject of one feed: the filter of that feed's durable consumer. */
  feedFilter: (feed: Feed) => `feeds.${feed}.*`,
  /** Where a producer hears why a message was refused. */
  rejects: (source: string) => `rejects.${source}`,
  live: (metric: string) => `live.${metric}`,
  liveAll: "live.>",
  /** JetStream's advisory when a message reaches its consumer's max deliveries. */
  maxDeliveriesAdvisory: (stream: string, consumer: string) => `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`,
} as const;

/** One durable pull consumer per feed, shared by every ingest process. */
export const consumerName = (feed: Feed, prefix = "ingest") => `${prefix}-${feed}`;

/** Header a producer sets so JetStream drops a duplicate publish: `<source>:<id>:<revision>`. */
export const msgId = (source: string, id: string, revision = 0) => `${source}:${id}:${revision}`;

/** Parses `feeds.<feed>.<source>`; null when the subject is not of that form. */
export function parseFeedSubject(subject: string): { feed: Feed; source: string } | null {
  const parts = subject.split(".");
  if (parts.length !== 3 || parts[0] !== "feeds") return null;
  const [, feed, source] = parts as [string, string, string];
  if (!isFeed(feed) || source.length === 0) return null;
  return { feed, source };
}
