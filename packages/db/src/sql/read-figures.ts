import type { Kysely } from "kysely";
import type { Database } from "../database";

type Kdb = Kysely<Database>;

/** The current tables, read in one query each (never per label set), from one snapshot. */
export interface FigureRows {
  subscribers: { source: string; service: string; area: string; count: number }[];
  bts: { source: string; tech: string; area: string; status: string; count: number }[];
  /** Day buckets of the last 30 days: `today` is the bucket starting at today's local midnight. */
  esign: { source: string; agency: string; signed: boolean; today: number; last30: number }[];
  egov: { source: string; agency: string; level: string; channel: string; status: string; count: number }[];
  feeds: { source: string; feed: string; last_received_at: Date }[];
  deadLetters: { reason: string; count: number }[];
}

// sum() of bigint is numeric, which pg hands over as a string; every figure fits in a double.
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/**
 * Reads every figure the exporter shows. `today` and `from30` are the starts (UTC instants) of
 * today's and of the 30-day window's first UTC+7 day buckets; bucket ranges go through the
 * primary key (grain, bucket, …), so the cost follows the label sets, not the event history.
 * One read-only REPEATABLE READ transaction: a KPI and the series it is made of always come
 * from the same moment, never from two commits apart.
 */
export async function readFigures(db: Kdb, today: Date, from30: Date): Promise<FigureRows> {
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .setAccessMode("read only")
    .execute((trx) => readAll(trx, today, from30));
}

async function readAll(db: Kdb, today: Date, from30: Date): Promise<FigureRows> {
  // One connection: the statements queue on it in order, all in the transaction's snapshot.
  const [subscribers, bts, esign, egov, feeds, deadLetters] = await Promise.all([
    db.selectFrom("subscriber_gauges").select(["source", "service", "area", "count"]).execute(),
    db
      .selectFrom("bts_stations")
      .select(["source", "tech", "area", "status"])
      .select((eb) => eb.fn.countAll().as("count"))
      .groupBy(["source", "tech", "area", "status"])
      .execute(),
    db
      .selectFrom("esign_counts")
      .select(["source", "agency", "signed"])
      .select((eb) => [eb.fn.sum("count").filterWhere("bucket", "=", today).as("today"), eb.fn.sum("count").as("last30")])
      .where("grain", "=", "day")
      .where("bucket", ">=", from30)
      .where("bucket", "<=", today)
      .groupBy(["source", "agency", "signed"])
      .execute(),
    db
      .selectFrom("egov_counts")
      .select(["source", "agency", "level", "channel", "status"])
      .select((eb) => eb.fn.sum("count").as("count"))
      .where("grain", "=", "day")
      .where("bucket", "=", today)
      .groupBy(["source", "agency", "level", "channel", "status"])
      .execute(),
    db.selectFrom("feed_status").select(["source", "feed", "last_received_at"]).execute(),
    db
      .selectFrom("dead_letters")
      .select("reason")
      .select((eb) => eb.fn.countAll().as("count"))
      .where("retried_at", "is", null)
      .groupBy("reason")
      .execute(),
  ]);
  return {
    subscribers: subscribers.map((r) => ({ ...r, count: num(r.count) })),
    bts: bts.map((r) => ({ ...r, count: num(r.count) })),
    esign: esign.map((r) => ({ source: r.source, agency: r.agency, signed: r.signed, today: num(r.today), last30: num(r.last30) })),
    egov: egov.map((r) => ({ ...r, count: num(r.count) })),
    feeds: feeds.map((r) => ({ source: r.source, feed: r.feed, last_received_at: new Date(r.last_received_at) })),
    deadLetters: deadLetters.map((r) => ({ reason: r.reason, count: num(r.count) })),
  };
}
