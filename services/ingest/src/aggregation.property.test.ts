/**
 * Aggregation property: for random sequences of events (duplicates with and without Nats-Msg-Id,
 * restatements that move a record to another key or day, late and out-of-order arrivals, ties in
 * time) run through real ingest over real JetStream, by one ingest or two sharing the consumers,
 * in batches of every size, the figures in Postgres and the last value per key of the change log
 * equal a simple model computed here from the same events:
 * - the record that counts is the highest revision of each (source, id);
 * - a gauge is the latest reading of its key by (ts, revision, id), id in byte order;
 * - a station is its latest reading; `since` the earliest reading after the last one of another
 *   status; counts by (source, tech, area, status) follow from the stations;
 * - e-sign and e-gov are counted per minute, hour and UTC+7 day; received steps per minute.
 * Shrunk counterexamples are kept in test/regressions/aggregation/*.json and run first, each as
 * its own test.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { keyString, type Feed } from "@pulse/contracts";
import { sql } from "@pulse/db";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startIngest, type Ingest } from "./ingest";
import { ingestHarness, type Harness } from "./test-harness";

let h: Harness;
beforeAll(async () => {
  h = await ingestHarness("aggregation", { start: false });
});
afterAll(async () => {
  await h?.close();
});

// ---------------------------------------------------------------------------------------------
// Scenarios.

/** One version of one record, with its instant in epoch microseconds (for the model). */
interface Version {
  feed: Feed;
  source: string;
  /** Record number within its feed; the id is built from it and the run. */
  n: number;
  revision: number;
  us: number;
  /** Offset the time is written in, in minutes (the same instant, another text). */
  offsetMin: number;
  area: string;
  data: Record<string, unknown>;
}

interface Scenario {
  /** Publish order: versions by index, repeats allowed (duplicates). */
  order: number[];
  versions: Version[];
  /** Per position of `order`: publish with Nats-Msg-Id (JetStream drops a repeat) or without (only ingest can tell). */
  withMsgId: boolean[];
  instances: 1 | 2;
  batchSize: number;
  lingerMs: number;
  /** Publish everything before ingest starts (full batches) or while it runs. */
  publishFirst: boolean;
}

// Instants near a UTC+7 midnight, a minute and an hour edge, with ties; one a month late.
const base = Date.UTC(2026, 10, 25, 16, 59, 0) * 1000; // 23:59:00 in Vietnam
const instants = [0, 59_999_999, 60_000_000, 60_000_001, 120_000_000, 3_660_000_000, -30 * 86_400_000_000].map((d) => base + d);

const feedShapes: Record<Feed, { sources: string[]; data: fc.Arbitrary<Record<string, unknown>>; areas: string[] }> = {
  subscribers: {
    sources: ["viettel", "mobifone"],
    data: fc.record({ service: fc.constantFrom("mobile", "ftth"), count: fc.nat({ max: 1_000 }) }),
    areas: ["16681", "16732"],
  },
  bts: {
    sources: ["viettel", "vinaphone"],
    data: fc.record({
      station: fc.constantFrom("S1", "S2", "S3"),
      tech: fc.constantFrom("4G", "5G"),
      status: fc.constantFrom("up", "degraded", "down", "removed"),
    }),
    areas: ["16681", "16732"],
  },
  esign: {
    sources: ["edoc"],
    data: fc.record({
      agency: fc.constantFrom("so-khcn", "ubnd-tinh"),
      doc: fc.constantFrom("d1", "d2"),
      signed: fc.boolean(),
      signer: fc.constantFrom("organization", "personal"),
    }),
    areas: ["40", "16681"],
  },
  egov: {
    sources: ["dvc"],
    data: fc.record({
      procedure: fc.constantFrom("p1"),
      agency: fc.constantFrom("ubnd-xa", "so-khcn"),
      level: fc.constantFrom("commune", "province"),
      channel: fc.constantFrom("online_full", "in_person"),
      status: fc.constantFrom("received", "resolved_on_time", "resolved_late", "rejected"),
    }),
    areas: ["40", "16681"],
  },
};

/** A record's versions: one to three distinct revisions, each with its own content. */
const recordVersions = (feed: Feed, n: number) =>
  fc
    .record({
      source: fc.constantFrom(...feedShapes[feed].sources),
      revisions: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }),
    })
    .chain(({ source, revisions }) =>
      fc.tuple(
        ...revisions.map((revision) =>
          fc.record({
            feed: fc.constant(feed),
            source: fc.constant(source),
            n: fc.constant(n),
            revision: fc.constant(revision),
            us: fc.constantFrom(...instants),
            offsetMin: fc.constantFrom(0, 420, -210, 959),
            area: fc.constantFrom(...feedShapes[feed].areas),
            data: feedShapes[feed].data,
          }),
        ),
      ),
    );

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    counts: fc.record({
      subscribers: fc.nat({ max: 6 }),
      bts: fc.nat({ max: 8 }),
      esign: fc.nat({ max: 5 }),
      egov: fc.nat({ max: 6 }),
    }),
  })
  .chain(({ counts }) =>
    fc.tuple(...(Object.keys(counts) as Feed[]).flatMap((feed) => Array.from({ length: counts[feed] }, (_, n) => recordVersions(feed, n)))),
  )
  .map((groups) => groups.flat() as Version[])
  .filter((v) => v.length > 0)
  .chain((versions) =>
    fc
      .record({
        // Every version at least once, some twice or three times, in any order.
        extra: fc.array(fc.nat({ max: versions.length - 1 }), { maxLength: Math.ceil(versions.length / 2) }),
        keys: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: versions.length * 2, maxLength: versions.length * 2 }),
        msgIds: fc.array(fc.boolean(), { minLength: versions.length * 2, maxLength: versions.length * 2 }),
        instances: fc.constantFrom(1 as const, 2 as const),
        batchSize: fc.constantFrom(1, 2, 5, 4_000),
        lingerMs: fc.constantFrom(0, 5, 20),
        publishFirst: fc.boolean(),
      })
      .map(({ extra, keys, msgIds, ...rest }) => {
        const all = [...versions.map((_, i) => i), ...extra];
        const order = all.map((v, i) => ({ v, k: keys[i % keys.length]! })).sort((a, b) => a.k - b.k);
        return { versions, order: order.map((x) => x.v), withMsgId: all.map((_, i) => msgIds[i % msgIds.length]!), ...rest };
      }),
  );

// ---------------------------------------------------------------------------------------------
// The model.

const pad = (n: number, w = 2) => String(n).padStart(w, "0");
// Ids end in characters whose UTF-8 byte order (Postgres's COLLATE "C") differs from JavaScript's
// UTF-16 order (U+E000 sorts before U+1F600 in bytes, after it in code units): ties in (ts,
// revision) are broken by id in byte order.
const idSuffixes = ["", "\uE000", "\u{1F600}", "é"];
const idOf = (run: string, v: Version) => `${run}-${v.feed}-${idSuffixes[v.n % idSuffixes.length]}${v.n}`;

/** The instant as RFC 3339 text in the version's offset, to the microsecond. */
function tsText(us: number, offsetMin: number): string {
  const ms = Math.floor(us / 1000);
  const local = new Date(Math.floor(ms / 1000) * 1000 + offsetMin * 60_000).toISOString().slice(0, 19);
  const a = Math.abs(offsetMin);
  const zone = offsetMin === 0 ? "Z" : `${offsetMin < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  return `${local}.${pad(us % 1_000_000, 6)}${zone}`;
}

const byteCmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
/** (ts, revision, id) order. */
const readingCmp = (a: { us: number; revision: number; id: string }, b: { us: number; revision: number; id: string }) =>
  a.us - b.us || a.revision - b.revision || byteCmp(a.id, b.id);

const minute = 60_000_000;
const hour = 60 * minute;
const day = 24 * hour;
const vn = 7 * hour;
const iso = (us: number) => new Date(Math.floor(us / 1000)).toISOString();
const localDay = (us: number) => iso(us + vn).slice(0, 10);
const buckets = (us: number) => ({
  minute: iso(Math.floor(us / minute) * minute),
  hour: iso(Math.floor(us / hour) * hour),
  day: iso(Math.floor((us + vn) / day) * day - vn),
});

type Fig = Record<string, unknown>;

/** What Postgres and the change log must hold after the scenario. */
function model(s: Scenario, run: string) {
  // The record that counts: the highest revision of each (source, id).
  const top = new Map<string, Version & { id: string }>();
  for (const v of s.versions) {
    const id = idOf(run, v);
    const k = `${v.source}\u0000${id}`;
    const t = top.get(k);
    if (!t || v.revision > t.revision) top.set(k, { ...v, id });
  }
  const records = [...top.values()];
  const of = (f: Feed) => records.filter((r) => r.feed === f);

  const gauges = new Map<string, { key: Fig; count: number; best: Version & { id: string } }>();
  for (const r of of("subscribers")) {
    const key = { source: r.source, service: r.data.service as string, area: r.area };
    const g = gauges.get(keyString(key));
    if (!g || readingCmp(r, g.best) > 0) gauges.set(keyString(key), { key, count: r.data.count as number, best: r });
  }

  const stations = new Map<string, { key: Fig; value: { tech: string; area: string; status: string; since: string } }>();
  const byStation = new Map<string, (Version & { id: string })[]>();
  for (const r of of("bts")) {
    const k = `${r.source}\u0000${r.data.station}`;
    byStation.set(k, [...(byStation.get(k) ?? []), r]);
  }
  for (const rs of byStation.values()) {
    rs.sort(readingCmp);
    const last = rs.at(-1)!;
    let i = rs.length - 1;
    while (i > 0 && rs[i - 1]!.data.status === last.data.status) i--;
    stations.set(keyString({ source: last.source, station: last.data.station as string }), {
      key: { source: last.source, station: last.data.station },
      value: { tech: last.data.tech as string, area: last.area, status: last.data.status as string, since: iso(rs[i]!.us) },
    });
  }
  const stationCounts = new Map<string, number>();
  for (const { key, value } of stations.values()) {
    const k = keyString({ source: key.source as string, tech: value.tech, area: value.area, status: value.status });
    stationCounts.set(k, (stationCounts.get(k) ?? 0) + 1);
  }

  const count = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const esignRows = new Map<string, number>();
  const esignDays = new Map<string, number>();
  for (const r of of("esign")) {
    const d = r.data as { agency: string; signed: boolean; signer: string };
    for (const [grain, bucket] of Object.entries(buckets(r.us)))
      count(esignRows, [grain, bucket, r.source, d.agency, r.area, d.signed ? "t" : "f", d.signer].join("|"));
    count(
      esignDays,
      keyString({ day: localDay(r.us), source: r.source, agency: d.agency, area: r.area, signed: String(d.signed), signer: d.signer }),
    );
  }
  const egovRows = new Map<string, number>();
  const egovDays = new Map<string, number>();
  const egovMinutes = new Map<string, number>();
  for (const r of of("egov")) {
    const d = r.data as { agency: string; level: string; channel: string; status: string };
    for (const [grain, bucket] of Object.entries(buckets(r.us)))
      count(egovRows, [grain, bucket, r.source, d.agency, d.level, d.channel, d.status, r.area].join("|"));
    count(
      egovDays,
      keyString({
        day: localDay(r.us),
        source: r.source,
        agency: d.agency,
        level: d.level,
        channel: d.channel,
        status: d.status,
        area: r.area,
      }),
    );
    if (d.status === "received") count(egovMinutes, keyString({ minute: buckets(r.us).minute }));
  }

  // Receipts: each (source, feed) counts its applied versions: at least one per record, at most one per distinct version.
  const applied = new Map<string, { min: number; max: number }>();
  const distinctVersions = new Set(s.versions.map((v) => `${v.source}\u0000${v.feed}\u0000${v.n}\u0000${v.revision}`));
  for (const k of distinctVersions) {
    const [source, feed] = k.split("\u0000");
    const a = applied.get(`${source}/${feed}`) ?? { min: 0, max: 0 };
    a.max++;
    applied.set(`${source}/${feed}`, a);
  }
  for (const r of records) applied.get(`${r.source}/${r.feed}`)!.min++;

  return {
    tables: {
      subscribers: [...gauges.values()].map((g) => `${g.key.source}|${g.key.service}|${g.key.area}|${g.count}`).sort(),
      stations: [...stations.values()]
        .map(({ key, value: v }) => `${key.source}|${key.station}|${v.tech}|${v.area}|${v.status}|${v.since}`)
        .sort(),
      esign: [...esignRows].map(([k, n]) => `${k}|${n}`).sort(),
      egov: [...egovRows].map(([k, n]) => `${k}|${n}`).sort(),
    },
    live: {
      subscribers: new Map([...gauges].map(([k, g]) => [k, g.count])),
      bts_station: new Map([...stations].map(([k, s]) => [k, s.value])),
      bts_stations: stationCounts,
      esign_day: esignDays,
      egov_day: egovDays,
      egov_minute: egovMinutes,
    } as Record<string, Map<string, unknown>>,
    applied,
  };
}

// ---------------------------------------------------------------------------------------------
// Running a scenario through ingest.

let runNo = 0;

/** Publishes the scenario through one or two real ingests and compares every figure with the model. */
async function check(hh: Harness, s: Scenario): Promise<void> {
  const run = `r${++runNo}x${Date.now().toString(36)}`;
  await sql`TRUNCATE events, subscriber_gauges, bts_stations, esign_counts, egov_counts, feed_status, dead_letters, changes`.execute(
    hh.db.db,
  );
  const cfg = { ...hh.config, batchSize: s.batchSize, lingerMs: s.lingerMs };
  const ingests: Ingest[] = [];
  const publish = async () => {
    for (const [i, vi] of s.order.entries()) {
      const v = s.versions[vi]!;
      const env = { id: idOf(run, v), ts: tsText(v.us, v.offsetMin), area: v.area, revision: v.revision, data: v.data };
      const ack = await hh.publish(v.feed, v.source, env, { msgId: s.withMsgId[i]! });
      expect(ack.seq).toBeGreaterThan(0);
    }
  };
  try {
    if (s.publishFirst) await publish();
    for (let i = 0; i < s.instances; i++) ingests.push(await startIngest(cfg));
    if (!s.publishFirst) await publish();
    await hh.settle(20_000);
  } finally {
    for (const x of ingests) await x.close();
  }

  const want = model(s, run);
  const q = async (text: string) => (await sql.raw<{ r: string }>(text).execute(hh.db.db)).rows.map((x) => x.r);
  const got = {
    subscribers: await q(`SELECT concat_ws('|', source, service, area, count) AS r FROM subscriber_gauges ORDER BY 1`),
    stations: await q(
      `SELECT concat_ws('|', source, station, tech, area, status, to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) AS r FROM bts_stations ORDER BY 1`,
    ),
    esign: await q(
      `SELECT concat_ws('|', grain, to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), source, agency, area, signed, signer, count) AS r FROM esign_counts WHERE count <> 0 ORDER BY 1`,
    ),
    egov: await q(
      `SELECT concat_ws('|', grain, to_char(bucket AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), source, agency, level, channel, status, area, count) AS r FROM egov_counts WHERE count <> 0 ORDER BY 1`,
    ),
  };
  // Postgres sorts by its own collation; compare as sets in one order.
  for (const k of Object.keys(got) as (keyof typeof got)[]) got[k].sort();
  expect(got).toEqual(want.tables);
  expect(await hh.count("dead_letters")).toBe(0);
  expect((await hh.count("esign_counts", "count < 0")) + (await hh.count("egov_counts", "count < 0"))).toBe(0);

  // The change log, last value per key (what a live client ends with), equals the model; a key
  // the model does not have ends at zero or null.
  const changes = await sql<{ metric: string; entries: string }>`SELECT metric, entries::text AS entries FROM changes ORDER BY id`.execute(
    hh.db.db,
  );
  const last = new Map<string, Map<string, unknown>>();
  for (const c of changes.rows) {
    const m = last.get(c.metric) ?? new Map<string, unknown>();
    for (const e of JSON.parse(c.entries) as { key: Record<string, string>; value: unknown }[]) m.set(keyString(e.key), e.value);
    last.set(c.metric, m);
  }
  for (const [metric, expected] of Object.entries(want.live)) {
    const seen = last.get(metric) ?? new Map();
    // A gauge or station gone is null; a count gone is 0 (a gauge may well read 0).
    const gone = (v: unknown) => v === null || (v === 0 && metric !== "subscribers");
    const live = Object.fromEntries([...seen].filter(([, v]) => !gone(v)));
    expect(live, metric).toEqual(Object.fromEntries(expected));
  }

  const status = await sql<{ source: string; feed: string; events: number }>`SELECT source, feed, events::int FROM feed_status`.execute(
    hh.db.db,
  );
  for (const r of status.rows) {
    const a = want.applied.get(`${r.source}/${r.feed}`);
    expect(a, `${r.source}/${r.feed}`).toBeDefined();
    expect(r.events).toBeGreaterThanOrEqual(a!.min);
    expect(r.events).toBeLessThanOrEqual(a!.max);
  }
}

// Counterexamples fast-check found and shrank, kept as regression tests: { "note", "scenario" }.
const regressions = join(import.meta.dirname, "..", "..", "..", "test", "regressions", "aggregation");
for (const file of existsSync(regressions) ? readdirSync(regressions).filter((f) => f.endsWith(".json")) : []) {
  const { note, scenario: s } = JSON.parse(readFileSync(join(regressions, file), "utf8")) as { note: string; scenario: Scenario };
  it(`regression ${file} (${note.split(":")[0]})`, async () => {
    await check(h, s);
  });
}

// A run takes well under a second; a failing one may shrink for up to 100 s more.
const runs = Number(process.env.PULSE_PROPERTY_RUNS ?? 20);
const limitMs = runs * 2_000 + 100_000;

it(
  "ends with the figures of a simple model, whatever the duplicates, restatements, order and ingests",
  async () => {
    const started = Date.now();
    let events = 0;
    let done = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        done++;
        events += s.order.length;
        await check(h, s);
      }),
      {
        numRuns: runs,
        // The whole property, shrinking included, stops (and fails) past this: each step runs ingest again.
        interruptAfterTimeLimit: limitMs,
        markInterruptAsFailure: true,
        ...(process.env.PULSE_PROPERTY_SEED ? { seed: Number(process.env.PULSE_PROPERTY_SEED) } : {}),
      },
    );
    console.log(`aggregation property: ${done} scenarios, ${events} messages, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
  limitMs + 20_000,
);
