/**
 * Rebuilding aggregates from the raw events (`pulse replay`): the buckets of whole UTC+7 days,
 * and the gauges (subscriber counts, BTS stations) of every key read in those days. Each runs
 * inside a transaction that holds the feed's lock, as ingest's batches do (`replayTransaction`),
 * so a batch committing meanwhile can never be half-seen or overwritten: ingest waits for the
 * replay's commit, then adds its changes to the rebuilt values.
 */
import { sql, type Kysely } from "kysely";
import { onClient, type Db } from "../create-db";
import type { Database } from "../database";
import { insertChanges, lockSpace, type ChangeInput } from "./changes";
import { textArray } from "./array-literal";
import { receivedPerMinute } from "./received-per-minute";
import { recomputeBtsStations, stationCounts, type StationKey } from "./upsert-bts-stations";
import { recomputeSubscriberGauges, type GaugeKey } from "./upsert-subscriber-gauges";

/** One aggregate row the replay changed (or would change): its key, the count before and after. */
export interface ReplayChange {
  table: "esign_counts" | "egov_counts" | "subscriber_gauges" | "bts_stations";
  key: Record<string, string>;
  /** null when the row did not exist. */
  before: unknown;
  /** null when the row is removed; 0 for a bucket no event is left in (kept at 0, as ingest keeps it). */
  after: unknown;
}

export interface ReplayResult {
  changes: ReplayChange[];
  /** Raw events of the feed read in the day range. */
  events: number;
  /** Change-log rows for live screens (written by `replayTransaction` unless a dry run). */
  log: ChangeInput[];
}

/**
 * Runs `fn` in one transaction holding the feed's advisory lock (the lock ingest's batches of
 * that feed take: `inFeedTransaction`), then writes the change-log rows it returns and commits;
 * with `dryRun`, rolls everything back instead (the result says what would have changed).
 */
export async function replayTransaction(
  db: Db,
  feedIndex: number,
  dryRun: boolean,
  fn: (trx: Kysely<Database>) => Promise<ReplayResult>,
): Promise<ReplayResult> {
  const client = await db.pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(`BEGIN; SELECT pg_advisory_xact_lock(${lockSpace}, ${Math.trunc(feedIndex)})`);
    const trx = onClient(client);
    const result = await fn(trx);
    if (dryRun) {
      await client.query("ROLLBACK");
    } else {
      await insertChanges(trx, result.log);
      await client.query("COMMIT");
    }
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.release(broken);
  }
}

// Differences between what the raw events say and what a bucket table holds, for buckets in
// [from, to). A bucket the events no longer fill is set to 0, as ingest leaves one after a
// restatement moved its event away; a bucket already at 0 with no events is left alone.
const bucketGrains = sql`(VALUES ('minute', date_trunc('minute', e.ts, 'Asia/Ho_Chi_Minh')), ('hour', date_trunc('hour', e.ts, 'Asia/Ho_Chi_Minh')), ('day', date_trunc('day', e.ts, 'Asia/Ho_Chi_Minh'))) AS g(grain, bucket)`;

type EsignDiff = {
  grain: string;
  bucket: Date;
  day: string;
  source: string;
  agency: string;
  area: string;
  signed: boolean;
  signer: string;
  before: number | null;
  after: number;
};
type EgovDiff = {
  grain: string;
  bucket: Date;
  day: string;
  source: string;
  agency: string;
  level: string;
  channel: string;
  status: string;
  area: string;
  before: number | null;
  after: number;
};

/** Rebuilds the e-document buckets (minute, hour, day) of [from, to) from the raw events. */
export async function replayEsignBuckets(trx: Kysely<Database>, from: Date, to: Date): Promise<ReplayResult> {
  const r = await sql<EsignDiff>`
    WITH want AS (
      SELECT g.grain, g.bucket, e.source COLLATE "C" AS source, (e.data->>'agency') COLLATE "C" AS agency, e.area COLLATE "C" AS area,
        (e.data->>'signed')::boolean AS signed, (e.data->>'signer') COLLATE "C" AS signer, count(*)::bigint AS count
      FROM events e CROSS JOIN LATERAL ${bucketGrains}
      WHERE e.feed = 'esign' AND e.ts >= ${from} AND e.ts < ${to}
      GROUP BY 1, 2, 3, 4, 5, 6, 7
    ), have AS (
      SELECT grain, bucket, source, agency, area, signed, signer, count FROM esign_counts WHERE bucket >= ${from} AND bucket < ${to}
    ), diff AS MATERIALIZED (
      SELECT grain, bucket, source, agency, area, signed, signer, h.count AS before, COALESCE(w.count, 0)::bigint AS after
      FROM want w FULL JOIN have h USING (grain, bucket, source, agency, area, signed, signer)
      WHERE h.count IS DISTINCT FROM w.count AND NOT (w.count IS NULL AND h.count = 0)
    ), up AS (
      INSERT INTO esign_counts AS t (grain, bucket, source, agency, area, signed, signer, count)
      SELECT grain, bucket, source, agency, area, signed, signer, after FROM diff ORDER BY grain, bucket, source, agency, area, signed, signer
      ON CONFLICT (grain, bucket, source, agency, area, signed, signer) DO UPDATE SET count = excluded.count
    )
    SELECT grain, bucket, to_char(bucket AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD') AS day, source, agency, area, signed, signer, before, after
    FROM diff ORDER BY grain, bucket, source, agency, area, signed, signer`.execute(trx);
  const changes: ReplayChange[] = r.rows.map((x) => ({
    table: "esign_counts",
    key: {
      grain: x.grain,
      bucket: x.bucket.toISOString(),
      source: x.source,
      agency: x.agency,
      area: x.area,
      signed: String(x.signed),
      signer: x.signer,
    },
    before: x.before,
    after: x.after,
  }));
  const days = r.rows.filter((x) => x.grain === "day");
  const log: ChangeInput[] = [
    {
      metric: "esign_day",
      entries: days.map((d) => ({
        key: { day: d.day, source: d.source, agency: d.agency, area: d.area, signed: String(d.signed), signer: d.signer },
        value: d.after,
      })),
    },
  ];
  return { changes, events: await countEvents(trx, "esign", from, to), log };
}

/** Rebuilds the dossier buckets (minute, hour, day) of [from, to) from the raw events. */
export async function replayEgovBuckets(trx: Kysely<Database>, from: Date, to: Date): Promise<ReplayResult> {
  const r = await sql<EgovDiff>`
    WITH want AS (
      SELECT g.grain, g.bucket, e.source COLLATE "C" AS source, (e.data->>'agency') COLLATE "C" AS agency, (e.data->>'level') COLLATE "C" AS level,
        (e.data->>'channel') COLLATE "C" AS channel, (e.data->>'status') COLLATE "C" AS status, e.area COLLATE "C" AS area, count(*)::bigint AS count
      FROM events e CROSS JOIN LATERAL ${bucketGrains}
      WHERE e.feed = 'egov' AND e.ts >= ${from} AND e.ts < ${to}
      GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
    ), have AS (
      SELECT grain, bucket, source, agency, level, channel, status, area, count FROM egov_counts WHERE bucket >= ${from} AND bucket < ${to}
    ), diff AS MATERIALIZED (
      SELECT grain, bucket, source, agency, level, channel, status, area, h.count AS before, COALESCE(w.count, 0)::bigint AS after
      FROM want w FULL JOIN have h USING (grain, bucket, source, agency, level, channel, status, area)
      WHERE h.count IS DISTINCT FROM w.count AND NOT (w.count IS NULL AND h.count = 0)
    ), up AS (
      INSERT INTO egov_counts AS t (grain, bucket, source, agency, level, channel, status, area, count)
      SELECT grain, bucket, source, agency, level, channel, status, area, after FROM diff
      ORDER BY grain, bucket, source, agency, level, channel, status, area
      ON CONFLICT (grain, bucket, source, agency, level, channel, status, area) DO UPDATE SET count = excluded.count
    )
    SELECT grain, bucket, to_char(bucket AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD') AS day, source, agency, level, channel, status, area, before, after
    FROM diff ORDER BY grain, bucket, source, agency, level, channel, status, area`.execute(trx);
  const changes: ReplayChange[] = r.rows.map((x) => ({
    table: "egov_counts",
    key: {
      grain: x.grain,
      bucket: x.bucket.toISOString(),
      source: x.source,
      agency: x.agency,
      level: x.level,
      channel: x.channel,
      status: x.status,
      area: x.area,
    },
    before: x.before,
    after: x.after,
  }));
  const days = r.rows.filter((x) => x.grain === "day");
  // The province-wide `received` total of each minute whose received buckets changed, read after
  // the update (the statement above wrote them): the absolute value the live log carries.
  const minutes = [...new Set(r.rows.filter((x) => x.grain === "minute" && x.status === "received").map((x) => x.bucket.toISOString()))];
  const totals = await receivedPerMinute(trx, minutes);
  const log: ChangeInput[] = [
    {
      metric: "egov_day",
      entries: days.map((d) => ({
        key: { day: d.day, source: d.source, agency: d.agency, level: d.level, channel: d.channel, status: d.status, area: d.area },
        value: d.after,
      })),
    },
    { metric: "egov_minute", entries: totals.map((m) => ({ key: { minute: m.minute.toISOString() }, value: m.count })) },
  ];
  return { changes, events: await countEvents(trx, "egov", from, to), log };
}

type GaugeRow = GaugeKey & { count: number; ts: Date; revision: number; event_id: string };

/**
 * Sets the subscriber gauge of every key read in [from, to) (and of every gauge whose reading is
 * from then) from the latest reading held in the raw events, as a restatement does.
 */
export async function replaySubscriberGauges(trx: Kysely<Database>, from: Date, to: Date): Promise<ReplayResult> {
  const keys = (
    await sql<GaugeKey>`
      SELECT DISTINCT e.source, e.data->>'service' AS service, e.area FROM events e WHERE e.feed = 'subscribers' AND e.ts >= ${from} AND e.ts < ${to}
      UNION
      SELECT source, service, area FROM subscriber_gauges WHERE ts >= ${from} AND ts < ${to}`.execute(trx)
  ).rows;
  const read = async (): Promise<Map<string, GaugeRow>> => {
    if (keys.length === 0) return new Map();
    const r = await sql<GaugeRow>`
      SELECT g.source, g.service, g.area, g.count, g.ts, g.revision, g.event_id FROM subscriber_gauges g
      JOIN unnest(${textArray(keys.map((k) => k.source))}::text[], ${textArray(keys.map((k) => k.service))}::text[], ${textArray(keys.map((k) => k.area))}::text[]) AS k(source, service, area)
        ON g.source = k.source AND g.service = k.service AND g.area = k.area`.execute(trx);
    return new Map(r.rows.map((x) => [gk(x), x]));
  };
  const before = await read();
  await recomputeSubscriberGauges(trx, keys);
  const after = await read();
  const changes: ReplayChange[] = [];
  const entries: { key: Record<string, string>; value: number | null }[] = [];
  for (const k of [...keys].sort((a, b) => cmp(gk(a), gk(b)))) {
    const b = before.get(gk(k)) ?? null;
    const a = after.get(gk(k)) ?? null;
    if (sameRow(b, a)) continue;
    const key = { source: k.source, service: k.service, area: k.area };
    changes.push({ table: "subscriber_gauges", key, before: b && gaugeView(b), after: a && gaugeView(a) });
    if (b?.count !== a?.count) entries.push({ key, value: a?.count ?? null });
  }
  return { changes, events: await countEvents(trx, "subscribers", from, to), log: [{ metric: "subscribers", entries }] };
}

type StationRow = StationKey & {
  tech: string;
  area: string;
  status: string;
  since: Date;
  /** `since` as Postgres writes it (microseconds): to be written back exactly. */
  since_text: string;
  ts: Date;
  revision: number;
  event_id: string;
};

/**
 * Sets every station read in [from, to) (and every station whose state or run start is from
 * then) from its raw readings, as a restatement does; the counts of the groups a station left
 * or joined go to the change log.
 *
 * `prunedBefore`: raw readings before this time may be gone (retention). A station up for longer
 * than that has lost the first readings of its run, and the raw readings left would start the
 * run too late; so a stored `since` before it is kept when no reading of another status came
 * after it (the run is unbroken as far as the readings go). Default: every reading is there.
 */
export async function replayBtsStations(
  trx: Kysely<Database>,
  from: Date,
  to: Date,
  options: { prunedBefore?: Date } = {},
): Promise<ReplayResult> {
  const keys = (
    await sql<StationKey>`
      SELECT DISTINCT e.source, e.data->>'station' AS station FROM events e WHERE e.feed = 'bts' AND e.ts >= ${from} AND e.ts < ${to}
      UNION
      SELECT source, station FROM bts_stations WHERE (ts >= ${from} AND ts < ${to}) OR (since >= ${from} AND since < ${to})`.execute(trx)
  ).rows;
  const read = async (): Promise<Map<string, StationRow>> => {
    if (keys.length === 0) return new Map();
    const r = await sql<StationRow>`
      SELECT s.source, s.station, s.tech, s.area, s.status, s.since, s.since::text AS since_text, s.ts, s.revision, s.event_id FROM bts_stations s
      JOIN unnest(${textArray(keys.map((k) => k.source))}::text[], ${textArray(keys.map((k) => k.station))}::text[]) AS k(source, station)
        ON s.source = k.source AND s.station = k.station`.execute(trx);
    return new Map(r.rows.map((x) => [sk(x), x]));
  };
  const before = await read();
  await recomputeBtsStations(trx, keys);
  const kept = [...before.values()].filter((b) => options.prunedBefore && b.since < options.prunedBefore);
  if (kept.length > 0) {
    await sql`
      UPDATE bts_stations s SET since = b.since, updated_at = now()
      FROM unnest(${textArray(kept.map((b) => b.source))}::text[], ${textArray(kept.map((b) => b.station))}::text[],
        ${textArray(kept.map((b) => b.status))}::text[], ${textArray(kept.map((b) => b.since_text))}::timestamptz[]) AS b(source, station, status, since)
      WHERE s.source = b.source AND s.station = b.station AND s.status = b.status AND b.since < s.since
        AND NOT EXISTS (SELECT 1 FROM events e WHERE e.feed = 'bts' AND e.source = s.source AND e.data->>'station' = s.station
                          AND e.data->>'status' <> s.status AND e.ts >= b.since)`.execute(trx);
  }
  const after = await read();
  const changes: ReplayChange[] = [];
  const stationEntries: { key: Record<string, string>; value: Record<string, string> | null }[] = [];
  const groups = new Map<string, { source: string; tech: string; area: string }>();
  for (const k of [...keys].sort((a, b) => cmp(sk(a), sk(b)))) {
    const b = before.get(sk(k)) ?? null;
    const a = after.get(sk(k)) ?? null;
    if (sameRow(b, a)) continue;
    const key = { source: k.source, station: k.station };
    changes.push({ table: "bts_stations", key, before: b && stationView(b), after: a && stationView(a) });
    const state = (x: StationRow | null) => x && `${x.tech}|${x.area}|${x.status}|${x.since.getTime()}`;
    if (state(b) !== state(a)) {
      stationEntries.push({
        key,
        value: a ? { tech: a.tech, area: a.area, status: a.status, since: a.since.toISOString() } : null,
      });
    }
    for (const x of [b, a]) if (x) groups.set(`${x.source}|${x.tech}|${x.area}`, { source: x.source, tech: x.tech, area: x.area });
  }
  const counts = await stationCounts(trx, [...groups.values()], ["up", "degraded", "down", "removed"]);
  return {
    changes,
    events: await countEvents(trx, "bts", from, to),
    log: [
      { metric: "bts_station", entries: stationEntries },
      {
        metric: "bts_stations",
        entries: counts.map((c) => ({ key: { source: c.source, tech: c.tech, area: c.area, status: c.status }, value: c.count })),
      },
    ],
  };
}

async function countEvents(trx: Kysely<Database>, feed: string, from: Date, to: Date): Promise<number> {
  const r = await sql<{
    n: number;
  }>`SELECT count(*)::bigint AS n FROM events WHERE feed = ${feed} AND ts >= ${from} AND ts < ${to}`.execute(trx);
  return Number(r.rows[0]!.n);
}

const gk = (k: GaugeKey) => `${k.source}\u0000${k.service}\u0000${k.area}`;
const sk = (k: StationKey) => `${k.source}\u0000${k.station}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const gaugeView = (x: GaugeRow) => ({ count: x.count, ts: x.ts.toISOString(), revision: x.revision, event_id: x.event_id });
const stationView = (x: StationRow) => ({
  tech: x.tech,
  area: x.area,
  status: x.status,
  since: x.since.toISOString(),
  ts: x.ts.toISOString(),
  revision: x.revision,
  event_id: x.event_id,
});
function sameRow(a: GaugeRow | StationRow | null, b: GaugeRow | StationRow | null): boolean {
  if (!a || !b) return a === b;
  const view = (x: GaugeRow | StationRow) => JSON.stringify("station" in x ? stationView(x) : gaugeView(x));
  return view(a) === view(b);
}
