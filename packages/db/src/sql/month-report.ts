import { sql, type Kysely } from "kysely";
import type { Database } from "../database";

/** The rows a month's statistical report is made of (`pulse report`). */
export interface MonthReportRows {
  /**
   * Subscribers per carrier, service and area at the end of the month (the area the latest reading
   * named: a district before 2025-07-01, a commune after), and when that reading was taken.
   */
  subscribers: { source: string; service: string; area: string; count: number; latest: Date }[];
  /** BTS stations per carrier, technology, area and status at the end of the month; the latest reading among them. */
  bts: { source: string; tech: string; area: string; status: string; count: number; latest: Date }[];
  /** E-documents exchanged over the month, per source, area and whether signed. */
  esign: { source: string; area: string; signed: boolean; count: number }[];
  /** Dossier steps over the month, per source, area, channel and status. */
  egov: { source: string; area: string; channel: string; status: string; count: number }[];
  /** Where the month-end figures came from. */
  gaugesFrom: "current" | "events";
}

const num = (v: unknown) => Number(v ?? 0);

/**
 * Reads one month, [start, end) as UTC instants of local (UTC+7) midnights, in one read-only
 * REPEATABLE READ snapshot. Counts over the month sum the day buckets. Month-end figures: while
 * the month is still running (`end` after now), the live gauges themselves (what the exporter
 * shows); for a month that is over, the latest reading before its end held in the raw events
 * (complete only within their retention).
 */
export async function readMonthReport(db: Kysely<Database>, start: Date, end: Date, now: Date): Promise<MonthReportRows> {
  const current = end.getTime() > now.getTime();
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .setAccessMode("read only")
    .execute(async (trx) => {
      type Sub = MonthReportRows["subscribers"][number];
      type Bts = MonthReportRows["bts"][number];
      const subscribers = current
        ? await sql<Sub>`
            SELECT source, service, area, count, ts AS latest FROM subscriber_gauges ORDER BY 1, 2, 3`.execute(trx)
        : await sql<Sub>`
            SELECT DISTINCT ON (source, data->>'service', area) source, data->>'service' AS service, area, (data->>'count')::bigint AS count, ts AS latest
            FROM events WHERE feed = 'subscribers' AND ts < ${end}
            ORDER BY source, data->>'service', area, ts DESC, revision DESC, id COLLATE "C" DESC`.execute(trx);
      const bts = current
        ? await sql<Bts>`
            SELECT source, tech, area, status, count(*)::bigint AS count, max(ts) AS latest FROM bts_stations
            GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`.execute(trx)
        : await sql<Bts>`
            SELECT source, tech, area, status, count(*)::bigint AS count, max(ts) AS latest FROM (
              SELECT DISTINCT ON (source, data->>'station') source, data->>'tech' AS tech, area, data->>'status' AS status, ts
              FROM events WHERE feed = 'bts' AND ts < ${end}
              ORDER BY source, data->>'station', ts DESC, revision DESC, id COLLATE "C" DESC) s
            GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`.execute(trx);
      const esign = await sql<{ source: string; area: string; signed: boolean; count: number }>`
        SELECT source, area, signed, sum(count)::bigint AS count FROM esign_counts
        WHERE grain = 'day' AND bucket >= ${start} AND bucket < ${end} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`.execute(trx);
      const egov = await sql<{ source: string; area: string; channel: string; status: string; count: number }>`
        SELECT source, area, channel, status, sum(count)::bigint AS count FROM egov_counts
        WHERE grain = 'day' AND bucket >= ${start} AND bucket < ${end} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`.execute(trx);
      return {
        subscribers: subscribers.rows.map((r) => ({ ...r, count: num(r.count) })),
        bts: bts.rows.map((r) => ({ ...r, count: num(r.count) })),
        esign: esign.rows.map((r) => ({ ...r, count: num(r.count) })),
        egov: egov.rows.map((r) => ({ ...r, count: num(r.count) })),
        gaugesFrom: current ? "current" : "events",
      };
    });
}
