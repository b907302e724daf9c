/**
 * An accepted record round-trips: what `decode()` accepts, Postgres stores exactly (id, source,
 * area, revision, data, and the time to the microsecond), both through the db's upsert and
 * through ingest itself over JetStream. Unicode edge cases and times at every boundary.
 */
import fc from "fast-check";
import { decode, feeds, keepMicroseconds, parseOffsetTime, type Feed, type FeedEvent } from "@pulse/contracts";
import { sql, upsertEvents } from "@pulse/db";
import { areaMap, localDayNumber, provinceCode, sources } from "@pulse/seeds";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestHarness, type Harness } from "./test-harness";

let h: Harness;
beforeAll(async () => {
  h = await ingestHarness("roundtrip", { start: false });
});
afterAll(async () => {
  await h?.close();
});

const awkward = [
  "e\u0301",
  "\u0301",
  "Nghệ An",
  "Nghe\u0323\u0302 An",
  "\u{1F600}",
  "\u{20000}",
  "\uFEFF",
  "\u200D",
  "\u2028",
  "\uFFFE",
  "\uFFFF",
  "\u0085",
  "\\",
  '"',
  "'",
  "{",
  "}",
  ",",
  "NULL",
  "\\u0000",
  " ",
];
const isText = (s: string) => s.length >= 1 && s.length <= 128 && !/[\u0000-\u001f\u007f]/.test(s) && !/\p{Cs}/u.test(s);
const text = fc
  .array(fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom(...awkward), fc.string({ unit: "grapheme", maxLength: 3 })), {
    minLength: 1,
    maxLength: 10,
  })
  .map((p) => p.join(""))
  .filter(isText);
const longText = fc.constantFrom("a", "ệ", "\u{1F600}").map((c) => c.repeat(Math.floor(128 / c.length)));

const pad = (n: number, w = 2) => String(n).padStart(w, "0");
/** Valid times: anywhere in 2000-2026 or at a day's, month's or year's edge, any offset, 0-10 fraction digits. */
const time = fc
  .record({
    ms: fc.oneof(
      fc.integer({ min: Date.UTC(2000, 0, 2), max: Date.UTC(2026, 10, 1) }),
      fc.constantFrom(
        Date.UTC(2000, 0, 1, 17),
        Date.UTC(2024, 1, 29, 16, 59, 59),
        Date.UTC(2025, 11, 31, 16, 59, 59),
        Date.UTC(2026, 0, 1),
        // The last instant of the districts and the first of the communes, in UTC+7.
        Date.UTC(2025, 5, 30, 16, 59, 59),
        Date.UTC(2025, 5, 30, 17),
        // The first instant the contract takes, 2000-01-01T00:00:00+15:59: still 1999 in UTC.
        Date.UTC(1999, 11, 31, 8, 1),
      ),
    ),
    frac: fc.constantFrom("", ".0", ".5", ".999", ".999999", ".9999999", ".000001", ".123456789", ".1234567891"),
    offsetMin: fc.oneof(fc.constantFrom(0, 420, -(15 * 60 + 59), 15 * 60 + 59, 345), fc.integer({ min: -959, max: 959 })),
  })
  .map(({ ms, frac, offsetMin }) => ({ ms, frac, offsetMin: ms < Date.UTC(2000, 0, 1) ? 959 : offsetMin }))
  .map(({ ms, frac, offsetMin }) => {
    const local = new Date(Math.floor(ms / 1000) * 1000 + offsetMin * 60_000).toISOString().slice(0, 19);
    const a = Math.abs(offsetMin);
    return `${local}${frac}${offsetMin === 0 ? "Z" : `${offsetMin < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}:${pad(a % 60)}`}`;
  });

const dataOf: Record<Feed, fc.Arbitrary<Record<string, unknown>>> = {
  subscribers: fc.record({
    service: fc.constantFrom("mobile", "ftth"),
    count: fc.oneof(fc.integer({ min: 0, max: 1e9 }), fc.constantFrom(0, 1e9)),
  }),
  bts: fc.record({ station: text, tech: fc.constantFrom("4G", "5G"), status: fc.constantFrom("up", "down") }),
  esign: fc.record({ agency: text, doc: text, signed: fc.boolean(), signer: fc.constantFrom("organization", "personal") }),
  egov: fc.record({
    procedure: text,
    agency: text,
    level: fc.constantFrom("commune"),
    channel: fc.constantFrom("online_full"),
    status: fc.constantFrom("received"),
  }),
};

const record = fc.constantFrom(...feeds).chain((feed) =>
  fc
    .record({
      source: fc.constantFrom(...sources.filter((s) => feed in s.feeds).map((s) => s.id)),
      id: fc.oneof(text, longText),
      ts: time,
      // The first or last unit in force on the record's UTC+7 day (a district or a commune), or the province.
      areaPick: fc.constantFrom(0, -1, ...(feed === "esign" || feed === "egov" ? ["province" as const] : [])),
      revision: fc.oneof(fc.constant(undefined), fc.nat(), fc.constant(2_147_483_647)),
      data: dataOf[feed],
    })
    .map(({ revision, areaPick, ...r }) => {
      const units = areaMap.leavesOn(localDayNumber(parseOffsetTime(keepMicroseconds(r.ts))!));
      const area = areaPick === "province" ? provinceCode : units.at(areaPick)!.code;
      return { feed, json: JSON.stringify({ v: 1, ...r, area, ...(revision === undefined ? {} : { revision }) }) };
    }),
);

/** Decodes, and insists on acceptance: every generated record is valid. */
function accepted(feed: Feed, source: string, json: string): FeedEvent {
  const r = decode({ subject: `feeds.${feed}.${source}`, payload: new TextEncoder().encode(json), receivedMs: Date.now() });
  if (!r.ok) throw new Error(`generated record refused (${r.reason}: ${r.detail}): ${json}`);
  return r.value;
}

/** Epoch microseconds of an accepted event's time, from its text (cut to six fraction digits by decode). */
function micros(e: FeedEvent): bigint {
  const frac = /\.(\d+)/.exec(e.ts)?.[1] ?? "";
  return BigInt(e.tsMs) * 1000n + BigInt(frac.padEnd(6, "0").slice(3, 6));
}

type Stored = { source: string; id: string; feed: string; revision: number; us: string; area: string; data: string };

async function stored(): Promise<Map<string, Stored>> {
  const r = await sql<Stored>`
    SELECT source, id, feed, revision, (extract(epoch FROM ts) * 1000000)::bigint::text AS us, area, data::text AS data FROM events`.execute(
    h.db.db,
  );
  return new Map(r.rows.map((x) => [`${x.source}\u0000${x.id}`, x]));
}

function expectStored(s: Stored | undefined, e: FeedEvent): void {
  expect(s, `${e.source} ${JSON.stringify(e.id)}`).toBeDefined();
  expect(s!.id).toBe(e.id);
  expect(s!.feed).toBe(e.feed);
  expect(s!.revision).toBe(e.revision);
  expect(s!.area).toBe(e.area);
  expect(BigInt(s!.us)).toBe(micros(e));
  expect(JSON.parse(s!.data)).toStrictEqual(e.data);
}

/** One version per (source, id): the first. */
function distinct(events: FeedEvent[]): FeedEvent[] {
  const seen = new Map<string, FeedEvent>();
  for (const e of events) if (!seen.has(`${e.source}\u0000${e.id}`)) seen.set(`${e.source}\u0000${e.id}`, e);
  return [...seen.values()];
}

describe("round trip of accepted records", () => {
  it("stores what decode accepted exactly, through the db's upsert", async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 60 }), async (recs) => {
        await sql`TRUNCATE events`.execute(h.db.db);
        const byFeed = new Map<Feed, FeedEvent[]>();
        for (const r of recs) {
          const src = (JSON.parse(r.json) as { source: string }).source;
          const e = accepted(r.feed, src, r.json);
          byFeed.set(r.feed, [...(byFeed.get(r.feed) ?? []), e]);
        }
        // Ids are unique per source across feeds: keep the first of each, whatever its feed.
        const all = distinct([...byFeed.values()].flat());
        let seq = 1;
        for (const feed of feeds) {
          const rows = all
            .filter((e) => e.feed === feed)
            .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
            .map((e) => ({ ...e, receivedMs: Date.now(), streamSeq: seq++ }));
          await upsertEvents(h.db.db, feed, rows);
        }
        const got = await stored();
        expect(got.size).toBe(all.length);
        for (const e of all) expectStored(got.get(`${e.source}\u0000${e.id}`), e);
        n += all.length;
      }),
      { numRuns: 150 },
    );
    console.log(`round trip (db upsert): ${n} accepted records stored and read back exactly`);
  });

  it("stores what decode accepted exactly, through ingest over JetStream", async () => {
    await sql`TRUNCATE events`.execute(h.db.db);
    await h.startIngest();
    try {
      const recs = fc.sample(record, { numRuns: 400, seed: 17 });
      const events = distinct(recs.map((r) => accepted(r.feed, (JSON.parse(r.json) as { source: string }).source, r.json)));
      const firstOf = new Map(events.map((e) => [`${e.source}\u0000${e.id}`, e]));
      // Publish only the first version of each (source, id): later ones would be restatements or duplicates.
      const sent = new Set<string>();
      for (const r of recs) {
        const src = (JSON.parse(r.json) as { source: string }).source;
        const e = accepted(r.feed, src, r.json);
        const k = `${e.source}\u0000${e.id}`;
        if (firstOf.get(k) !== undefined && !sent.has(k) && JSON.stringify(firstOf.get(k)) === JSON.stringify(e)) {
          sent.add(k);
          await h.publish(r.feed, src, r.json);
        }
      }
      await h.settle(30_000);
      const got = await stored();
      expect(await h.count("dead_letters")).toBe(0);
      expect(got.size).toBe(events.length);
      for (const e of events) expectStored(got.get(`${e.source}\u0000${e.id}`), e);
      console.log(`round trip (ingest): ${events.length} accepted records published, committed and read back exactly`);
    } finally {
      await h.stopIngest();
    }
  });
});
