/**
 * Rows held in an area that was not in force on the row's own UTC+7 day, moved to `retired_rows`
 * (`pulse areas retired`). Such rows cannot come from today's decoder, which judges every record
 * on its own day; they are what the simulator and decoder wrote before the map of 2025 was in
 * seeds (districts' codes dated after 2025-07-01). Moving them (not marking them) takes them out
 * of every figure at once: current totals, the month report, Grafana's SQL, and `replay`, which
 * rebuilds from `events` without judging areas again.
 *
 * A bucket's day is the day of every event in it, so a bucket of an area not in force that day
 * holds only such events: moving the buckets and the events together keeps them consistent.
 */
import { sql, type Kysely, type RawBuilder } from "kysely";
import type { Database } from "../database";
import type { ChangeInput } from "./changes";
import { textArray } from "./array-literal";
import { receivedPerMinute } from "./received-per-minute";
import { stationCounts } from "./upsert-bts-stations";

/** One dated version of an area: in force from `validFrom` to `validTo` (UTC+7 days, both included; null: open). */
export interface AreaVersion {
  code: string;
  validFrom: string | null;
  validTo: string | null;
}

export type RetiredTable = "events" | "subscriber_gauges" | "bts_stations" | "esign_counts" | "egov_counts";

/** What was (or, in a dry run, would be) moved: rows per table and area, with their first and last day. */
export interface RetiredCount {
  table: RetiredTable;
  area: string;
  rows: number;
  first_day: string;
  last_day: string;
}

export interface RetireResult {
  counts: RetiredCount[];
  /** Change-log rows telling live screens the keys that are gone. */
  log: ChangeInput[];
}

const day = (col: RawBuilder<unknown>) => sql`((${col}) AT TIME ZONE 'Asia/Ho_Chi_Minh')::date`;

/** `area` of `alias` not in force on `dayExpr`: not the province, and no version of it covers that day. */
function outOfForce(versions: readonly AreaVersion[], province: string, alias: string, dayExpr: RawBuilder<unknown>) {
  const a = sql.ref(`${alias}.area`);
  return sql`${a} <> ${province} AND NOT EXISTS (
    SELECT 1 FROM unnest(${textArray(versions.map((v) => v.code))}::text[],
                         ${textArray(versions.map((v) => v.validFrom ?? ""))}::text[],
                         ${textArray(versions.map((v) => v.validTo ?? ""))}::text[]) AS v(code, valid_from, valid_to)
    WHERE v.code = ${a}
      AND (v.valid_from = '' OR v.valid_from::date <= ${dayExpr})
      AND (v.valid_to = '' OR ${dayExpr} <= v.valid_to::date))`;
}

/** Moves the rows of `table` whose area was not in force on `dayCol`'s day; returns the moved rows' keys. */
async function move<K extends Record<string, unknown>>(
  trx: Kysely<Database>,
  table: RetiredTable,
  where: RawBuilder<unknown>,
  dayCol: string,
  keys: string[],
): Promise<{ counts: RetiredCount[]; moved: (K & { area: string; day: string })[] }> {
  const d = day(sql.ref(`t.${dayCol}`));
  const r = await sql<K & { area: string; day: string }>`
    WITH moved AS (
      DELETE FROM ${sql.table(table)} AS t WHERE ${where}
      RETURNING t.*, ${d} AS retired_day
    ), kept AS (
      INSERT INTO retired_rows (table_name, area, day, row)
      SELECT ${table}, m.area, m.retired_day, row_to_json(m)::jsonb - 'retired_day' FROM moved m
    )
    SELECT ${sql.join(keys.map((k) => sql.ref(k)))}, area, to_char(retired_day, 'YYYY-MM-DD') AS day FROM moved`.execute(trx);
  const byArea = new Map<string, RetiredCount>();
  for (const x of r.rows) {
    const c = byArea.get(x.area) ?? { table, area: x.area, rows: 0, first_day: x.day, last_day: x.day };
    c.rows++;
    if (x.day < c.first_day) c.first_day = x.day;
    if (x.day > c.last_day) c.last_day = x.day;
    byArea.set(x.area, c);
  }
  return { counts: [...byArea.values()].sort((a, b) => a.area.localeCompare(b.area)), moved: r.rows };
}

/**
 * Moves one feed's rows held in areas not in force on their own day to `retired_rows`: its raw
 * events, and its gauges (subscribers), stations (bts) or buckets (esign, egov). Run it inside the
 * feed's lock (`replayTransaction`), as ingest's batches of that feed take it.
 */
export async function retireOutOfForce(
  trx: Kysely<Database>,
  feed: "subscribers" | "bts" | "esign" | "egov",
  versions: readonly AreaVersion[],
  province: string,
): Promise<RetireResult> {
  const events = await move(trx, "events", sql`t.feed = ${feed} AND ${outOfForce(versions, province, "t", day(sql.ref("t.ts")))}`, "ts", [
    "id",
  ]);
  const counts = [...events.counts];
  const log: ChangeInput[] = [];
  if (feed === "subscribers") {
    const g = await move<{ source: string; service: string }>(
      trx,
      "subscriber_gauges",
      outOfForce(versions, province, "t", day(sql.ref("t.ts"))),
      "ts",
      ["source", "service"],
    );
    counts.push(...g.counts);
    log.push({
      metric: "subscribers",
      entries: g.moved.map((m) => ({ key: { source: m.source, service: m.service, area: m.area }, value: null })),
    });
  } else if (feed === "bts") {
    const s = await move<{ source: string; station: string; tech: string }>(
      trx,
      "bts_stations",
      outOfForce(versions, province, "t", day(sql.ref("t.ts"))),
      "ts",
      ["source", "station", "tech"],
    );
    counts.push(...s.counts);
    const groups = new Map<string, { source: string; tech: string; area: string }>();
    for (const m of s.moved) {
      groups.set(`${m.source}|${m.tech}|${m.area}`, { source: m.source, tech: m.tech, area: m.area });
    }
    const after = await stationCounts(trx, [...groups.values()], ["up", "degraded", "down", "removed"]);
    log.push(
      { metric: "bts_station", entries: s.moved.map((m) => ({ key: { source: m.source, station: m.station }, value: null })) },
      {
        metric: "bts_stations",
        entries: after.map((c) => ({ key: { source: c.source, tech: c.tech, area: c.area, status: c.status }, value: c.count })),
      },
    );
  } else if (feed === "esign") {
    const b = await move<{ grain: string; source: string; agency: string; signed: boolean; signer: string }>(
      trx,
      "esign_counts",
      outOfForce(versions, province, "t", day(sql.ref("t.bucket"))),
      "bucket",
      ["grain", "source", "agency", "signed", "signer"],
    );
    counts.push(...b.counts);
    log.push({
      metric: "esign_day",
      entries: b.moved
        .filter((m) => m.grain === "day")
        .map((x) => ({
          key: { day: x.day, source: x.source, agency: x.agency, area: x.area, signed: String(x.signed), signer: x.signer },
          value: 0,
        })),
    });
  } else {
    const b = await move<{ grain: string; bucket: Date; source: string; agency: string; level: string; channel: string; status: string }>(
      trx,
      "egov_counts",
      outOfForce(versions, province, "t", day(sql.ref("t.bucket"))),
      "bucket",
      ["grain", "bucket", "source", "agency", "level", "channel", "status"],
    );
    counts.push(...b.counts);
    // The province-wide `received` total of each minute that lost buckets, read after the move.
    const minutes = [...new Set(b.moved.filter((m) => m.grain === "minute" && m.status === "received").map((m) => m.bucket.toISOString()))];
    const totals = await receivedPerMinute(trx, minutes);
    log.push(
      {
        metric: "egov_day",
        entries: b.moved
          .filter((m) => m.grain === "day")
          .map((x) => ({
            key: { day: x.day, source: x.source, agency: x.agency, level: x.level, channel: x.channel, status: x.status, area: x.area },
            value: 0,
          })),
      },
      { metric: "egov_minute", entries: totals.map((m) => ({ key: { minute: m.minute.toISOString() }, value: Number(m.count) })) },
    );
  }
  return { counts, log };
}
