import { keyString } from "@pulse/contracts";
import type { Db } from "@pulse/db";
import type { LiveClient } from "./live-client";

/**
 * Every change-log key Postgres holds, with its value, read straight from the tables (not with
 * the gateway's own query): what a client must hold. Keys as LiveClient keeps them.
 */
export async function postgresValues(db: Db): Promise<Record<string, unknown>> {
  const pg = async (text: string) => (await db.pool.query(text)).rows as Record<string, unknown>[];
  const out: Record<string, unknown> = {};
  const put = (metric: string, key: Record<string, string>, value: unknown) => (out[`${metric}\u0000${keyString(key)}`] = value);
  const s = (v: unknown) => String(v);
  for (const r of await pg("SELECT source, service, area, count FROM subscriber_gauges"))
    put("subscribers", { source: s(r.source), service: s(r.service), area: s(r.area) }, Number(r.count));
  for (const r of await pg("SELECT source, station, tech, area, status, since FROM bts_stations"))
    put(
      "bts_station",
      { source: s(r.source), station: s(r.station) },
      { tech: r.tech, area: r.area, status: r.status, since: (r.since as Date).toISOString() },
    );
  for (const r of await pg(`SELECT source, tech, area, status, count(*)::int AS n FROM bts_stations GROUP BY 1, 2, 3, 4`))
    put("bts_stations", { source: s(r.source), tech: s(r.tech), area: s(r.area), status: s(r.status) }, r.n);
  for (const r of await pg(
    `SELECT to_char(bucket AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD') AS day, source, agency, area, signed::text, signer, count
     FROM esign_counts WHERE grain = 'day' AND count <> 0`,
  ))
    put(
      "esign_day",
      { day: s(r.day), source: s(r.source), agency: s(r.agency), area: s(r.area), signed: s(r.signed), signer: s(r.signer) },
      Number(r.count),
    );
  for (const r of await pg(
    `SELECT to_char(bucket AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD') AS day, source, agency, level, channel, status, area, count
     FROM egov_counts WHERE grain = 'day' AND count <> 0`,
  ))
    put(
      "egov_day",
      {
        day: s(r.day),
        source: s(r.source),
        agency: s(r.agency),
        level: s(r.level),
        channel: s(r.channel),
        status: s(r.status),
        area: s(r.area),
      },
      Number(r.count),
    );
  for (const r of await pg(
    `SELECT bucket, sum(count)::int AS n FROM egov_counts WHERE grain = 'minute' AND status = 'received' GROUP BY 1 HAVING sum(count) <> 0`,
  ))
    put("egov_minute", { minute: (r.bucket as Date).toISOString() }, r.n);
  for (const r of await pg("SELECT source, feed, last_received_at, last_event_ts, events FROM feed_status"))
    put(
      "feed",
      { source: s(r.source), feed: s(r.feed) },
      {
        last_received_at: (r.last_received_at as Date).toISOString(),
        last_event_ts: r.last_event_ts ? (r.last_event_ts as Date).toISOString() : null,
        events: Number(r.events),
      },
    );
  return out;
}

/** What a client holds of the change-log topics, zeros and nulls left out (Postgres has no row for them). */
export function clientValues(c: LiveClient): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, h] of c.values) {
    const metric = id.split("\u0000")[0]!;
    if (metric === "kpi" || metric === "freshness" || metric === "rollup" || h.value === null || h.value === 0) continue;
    out[id] = h.value;
  }
  return out;
}

/** Every change-log topic. */
export const allLogTopics = ["subscribers", "bts_stations", "bts_station", "esign_day", "egov_day", "egov_minute", "feed"];
