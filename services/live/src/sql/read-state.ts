import { btsStatuses, type LiveEntry, type LiveMetric } from "@pulse/contracts";
import { sql, type Db } from "@pulse/db";

type Kdb = Db["db"];

/** Every key of the change log as Postgres holds it, and the change id it is consistent with. */
export interface StateRead {
  /** Highest change id committed in the read's snapshot: every change up to it is in the rows. */
  changeId: number;
  entries: Map<LiveMetric, LiveEntry[]>;
}

export interface StateReadOptions {
  /** First UTC+7 day held (YYYY-MM-DD) for esign_day and egov_day. */
  fromDay: string;
  /** First minute held for egov_minute. */
  fromMinute: Date;
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/**
 * Reads the current value of every change-log key, in exactly the shape ingest writes them to
 * the log (services/ingest/src/apply-batch.ts), in one read-only REPEATABLE READ transaction
 * with max(changes.id). Change ids are handed out in commit order (the change-log lock held to
 * commit, see db's changes.ts), so the snapshot holds every change up to that id and none after:
 * the state as of change C.
 */
export async function readState(db: Kdb, o: StateReadOptions): Promise<StateRead> {
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .setAccessMode("read only")
    .execute(async (trx) => {
      // One connection: the statements run in order, all in the transaction's snapshot.
      const q = async <R>(s: ReturnType<typeof sql<R>>) => (await s.execute(trx)).rows;
      // The relay's cursor too: the relay deletes old change rows once published, which could
      // leave max(id) below changes the tables already hold. (Never the id sequence's
      // last_value: an id handed to a transaction that has not committed would be counted in.)
      const [head] = await q(sql<{ c: number }>`
        SELECT GREATEST(COALESCE((SELECT max(id) FROM changes), 0), COALESCE((SELECT max(last_id) FROM relay_cursor), 0))::bigint AS c`);
      const subscribers = await q(sql<{ source: string; service: string; area: string; count: number }>`
        SELECT source, service, area, count FROM subscriber_gauges ORDER BY 1, 2, 3`);
      const stations = await q(sql<{ source: string; station: string; tech: string; area: string; status: string; since_ms: number }>`
        SELECT source, station, tech, area, status, floor(extract(epoch FROM since) * 1000)::float8 AS since_ms
        FROM bts_stations ORDER BY 1, 2`);
      const esign = await q(sql<{
        day: string;
        source: string;
        agency: string;
        area: string;
        signed: boolean;
        signer: string;
        count: number;
      }>`
        SELECT to_char(bucket AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD') AS day, source, agency, area, signed, signer, count
        FROM esign_counts
        WHERE grain = 'day' AND bucket >= (${o.fromDay}::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')`);
      const egov = await q(sql<{
        day: string;
        source: string;
        agency: string;
        level: string;
        channel: string;
        status: string;
        area: string;
        count: number;
      }>`
        SELECT to_char(bucket AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD') AS day, source, agency, level, channel, status, area, count
        FROM egov_counts
        WHERE grain = 'day' AND bucket >= (${o.fromDay}::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')`);
      const minutes = await q(sql<{ minute: Date; count: number }>`
        SELECT bucket AS minute, sum(count)::bigint AS count FROM egov_counts
        WHERE grain = 'minute' AND status = 'received' AND bucket >= ${o.fromMinute}
        GROUP BY bucket ORDER BY bucket`);
      const feeds = await q(sql<{ source: string; feed: string; last_received_at: Date; last_event_ts: Date | null; events: number }>`
        SELECT source, feed, last_received_at, last_event_ts, events FROM feed_status ORDER BY 1, 2`);

      const entries = new Map<LiveMetric, LiveEntry[]>();
      entries.set(
        "subscribers",
        subscribers.map((r) => ({ key: { source: r.source, service: r.service, area: r.area }, value: num(r.count) })),
      );
      entries.set(
        "bts_station",
        stations.map((r) => ({
          key: { source: r.source, station: r.station },
          value: { tech: r.tech, area: r.area, status: r.status, since: new Date(r.since_ms).toISOString() },
        })),
      );
      // Stations by status, every status of every (source, tech, area) that has a station, zeros
      // included, as ingest's stationCounts writes them.
      const groups = new Map<string, { source: string; tech: string; area: string; counts: Map<string, number> }>();
      for (const s of stations) {
        const g = `${s.source}\u0000${s.tech}\u0000${s.area}`;
        let e = groups.get(g);
        if (!e) groups.set(g, (e = { source: s.source, tech: s.tech, area: s.area, counts: new Map() }));
        e.counts.set(s.status, (e.counts.get(s.status) ?? 0) + 1);
      }
      const bts: LiveEntry[] = [];
      for (const g of groups.values()) {
        const statuses = new Set<string>([...btsStatuses, ...g.counts.keys()]);
        for (const status of statuses)
          bts.push({ key: { source: g.source, tech: g.tech, area: g.area, status }, value: g.counts.get(status) ?? 0 });
      }
      entries.set("bts_stations", bts);
      entries.set(
        "esign_day",
        esign.map((d) => ({
          key: { day: d.day, source: d.source, agency: d.agency, area: d.area, signed: String(d.signed), signer: d.signer },
          value: num(d.count),
        })),
      );
      entries.set(
        "egov_day",
        egov.map((d) => ({
          key: { day: d.day, source: d.source, agency: d.agency, level: d.level, channel: d.channel, status: d.status, area: d.area },
          value: num(d.count),
        })),
      );
      entries.set(
        "egov_minute",
        minutes.map((m) => ({ key: { minute: new Date(m.minute).toISOString() }, value: num(m.count) })),
      );
      entries.set(
        "feed",
        feeds.map((s) => ({
          key: { source: s.source, feed: s.feed },
          value: {
            last_received_at: new Date(s.last_received_at).toISOString(),
            last_event_ts: s.last_event_ts ? new Date(s.last_event_ts).toISOString() : null,
            events: num(s.events),
          },
        })),
      );
      return { changeId: num(head?.c), entries };
    });
}

/** Highest change id committed (0 when none): how far the relay has to go. */
export async function lastChangeId(db: Kdb): Promise<number> {
  const r = await sql<{ c: number }>`SELECT COALESCE(max(id), 0)::bigint AS c FROM changes`.execute(db);
  return num(r.rows[0]?.c);
}
