import { sql } from "kysely";
import { expect, it } from "vitest";
import { useScratchDb } from "./scratch-db";
import { upsertEgovCounts, upsertEsignCounts, type EgovContribution, type EsignContribution } from "./sql/upsert-counts";

const scratch = useScratchDb("counts");

/**
 * Times around every change of Asia/Ho_Chi_Minh's offset (tzdata), where a bucket is easiest to
 * get wrong: 1906 and 1911 moved the clock by seconds and by 6 min 30 s, 1942–1975 by whole hours
 * both ways (hours that repeat or never happen); then ordinary days around local midnight.
 */
function trickyTimes(): string[] {
  const changes = [
    "1906-06-30T16:53:20Z",
    "1911-04-30T16:53:30Z",
    "1942-12-31T16:00:00Z",
    "1945-03-14T15:00:00Z",
    "1945-09-01T15:00:00Z",
    "1947-03-31T16:00:00Z",
    "1955-06-30T16:00:00Z",
    "1959-12-31T15:00:00Z",
    "1975-06-12T16:00:00Z",
  ];
  const out: string[] = [];
  for (const c of changes) {
    const t = Date.parse(c);
    // Every 97 s from two hours before to two hours after, and every 3 s for ten minutes around
    // it (the 1911 change misplaces a 30-second window if the hour is taken from the minute
    // bucket); each with its own microseconds.
    const at = (s: number) =>
      `${new Date(t + s * 1_000).toISOString().slice(0, 19)}.${String(Math.abs(s * 7_919) % 1_000_000).padStart(6, "0")}Z`;
    for (let s = -7_200; s <= 7_200; s += 97) out.push(at(s));
    for (let s = -300; s <= 300; s += 3) out.push(at(s));
  }
  for (let d = 0; d < 3; d++)
    for (let m = -90; m <= 90; m += 7) out.push(new Date(Date.parse("2026-11-26T17:00:00Z") + d * 86_400_000 + m * 60_000).toISOString());
  return out;
}

it("sums each contribution into the minute, hour and day that date_trunc gives its own time in Asia/Ho_Chi_Minh", async () => {
  const db = scratch.db.db;
  const times = trickyTimes();
  const egov: EgovContribution[] = times.map((ts, i) => ({
    ts,
    source: "dvc",
    agency: i % 3 ? "ubnd-xa" : "so-tn-mt",
    level: i % 3 ? "commune" : "province",
    channel: ["online_full", "in_person"][i % 2]!,
    status: ["received", "resolved_on_time"][i % 2]!,
    area: String(412 + (i % 5)),
    delta: i % 11 === 0 ? -1 : 1,
  }));
  const esign: EsignContribution[] = times.map((ts, i) => ({
    ts,
    source: "edoc",
    agency: "so-tttt",
    area: String(412 + (i % 5)),
    signed: i % 4 !== 0,
    signer: i % 2 ? "personal" : "organization",
    delta: i % 13 === 0 ? -1 : 1,
  }));
  // In two batches, so that the second one adds to buckets the first one wrote.
  const half = Math.floor(times.length / 2);
  await upsertEgovCounts(db, egov.slice(0, half));
  await upsertEgovCounts(db, egov.slice(half));
  await upsertEsignCounts(db, esign.slice(0, half));
  await upsertEsignCounts(db, esign.slice(half));

  // What every contribution should have added, bucketed one event at a time by date_trunc.
  const expected = await sql<{ grain: string; bucket: Date; k: string; count: string }>`
    SELECT grain, date_trunc(grain, ts, 'Asia/Ho_Chi_Minh') AS bucket, concat_ws('|', source, agency, level, channel, status, area) AS k, sum(delta)::text AS count
    FROM unnest(${times}::timestamptz[], ${egov.map((x) => x.source)}::text[], ${egov.map((x) => x.agency)}::text[], ${egov.map((x) => x.level)}::text[],
      ${egov.map((x) => x.channel)}::text[], ${egov.map((x) => x.status)}::text[], ${egov.map((x) => x.area)}::text[], ${egov.map((x) => x.delta)}::int[])
      AS c(ts, source, agency, level, channel, status, area, delta)
    CROSS JOIN unnest(ARRAY['minute', 'hour', 'day']) AS grain
    GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3`.execute(db);
  const stored = await sql<{ grain: string; bucket: Date; k: string; count: string }>`
    SELECT grain, bucket, concat_ws('|', source, agency, level, channel, status, area) AS k, count::text AS count
    FROM egov_counts WHERE count <> 0 ORDER BY 1, 2, 3`.execute(db);
  expect(stored.rows.length).toBeGreaterThan(1_000);
  expect(stored.rows).toEqual(expected.rows);

  const expectedEsign = await sql<{ grain: string; bucket: Date; k: string; count: string }>`
    SELECT grain, date_trunc(grain, ts, 'Asia/Ho_Chi_Minh') AS bucket, concat_ws('|', source, agency, area, signed, signer) AS k, sum(delta)::text AS count
    FROM unnest(${times}::timestamptz[], ${esign.map((x) => x.source)}::text[], ${esign.map((x) => x.agency)}::text[], ${esign.map((x) => x.area)}::text[],
      ${esign.map((x) => x.signed)}::boolean[], ${esign.map((x) => x.signer)}::text[], ${esign.map((x) => x.delta)}::int[])
      AS c(ts, source, agency, area, signed, signer, delta)
    CROSS JOIN unnest(ARRAY['minute', 'hour', 'day']) AS grain
    GROUP BY 1, 2, 3 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3`.execute(db);
  const storedEsign = await sql<{ grain: string; bucket: Date; k: string; count: string }>`
    SELECT grain, bucket, concat_ws('|', source, agency, area, signed, signer) AS k, count::text AS count
    FROM esign_counts WHERE count <> 0 ORDER BY 1, 2, 3`.execute(db);
  expect(storedEsign.rows.length).toBeGreaterThan(1_000);
  expect(storedEsign.rows).toEqual(expectedEsign.rows);
});
