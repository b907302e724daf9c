import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPulse } from "@pulse/cli/testing";
import { feeds } from "@pulse/contracts";
import { createDb, lockSpace, type Db } from "@pulse/db";
import { loadConfig, startIngest, type Ingest } from "@pulse/ingest";
import { ingestHarness, make, type Envelope, type Harness } from "@pulse/ingest/test-harness";
import { jetstreamManager, unsettledTotal } from "@pulse/nats";
import { createTestDatabase, type TestDatabase } from "@pulse/testkit";

// `pulse replay` must give back exactly what ingest built, row for row (restatements, late and
// out-of-order events included), change nothing the second time, and stay exact while ingest
// keeps applying new events beside it. The reference for the last part is a second ingest, on a
// database of its own, that read the very same streams and never saw a replay.
const day = "2026-11-20";
const dayStart = Date.UTC(2026, 10, 20) - 7 * 3_600_000;
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().replace("Z", "+07:00");

function rng(seed: number) {
  let x = seed;
  return () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
}

type Msg = { feed: string; source: string; env: Envelope; msgId?: boolean };

/** Events over the day before, the day and the day after (borders included), shuffled. */
function history(n: number, seed: number, idPrefix: string, spanMs = 2 * 86_400_000, from = dayStart - 86_400_000 / 2): Msg[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const when = () => local(from + Math.floor(rand() * spanMs));
  const out: Msg[] = [];
  const areas = ["16681", "16732", "17506"];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const id = `${idPrefix}${i}`;
    if (r < 0.35) {
      const data = {
        procedure: "p1",
        agency: pick(["ubnd-xa", "so-khcn"]),
        level: "commune",
        channel: pick(["online_full", "online_partial", "in_person"]),
        status: pick(["received", "received", "resolved_on_time", "resolved_late", "rejected"]),
      };
      out.push({ feed: "egov", source: "dvc", env: { id, ts: when(), area: pick([...areas, "40"]), data } });
      // A restatement: another status or channel, sometimes another day.
      if (rand() < 0.15)
        out.push({
          feed: "egov",
          source: "dvc",
          env: { id, revision: 1, ts: when(), area: pick(areas), data: { ...data, channel: "in_person", status: "resolved_late" } },
        });
    } else if (r < 0.6) {
      const data = {
        agency: pick(["so-khcn", "ubnd-tinh"]),
        doc: `doc-${id}`,
        signed: rand() < 0.9,
        signer: pick(["organization", "personal"]),
      };
      out.push({ feed: "esign", source: "edoc", env: { id, ts: when(), area: pick([...areas, "40"]), data } });
      if (rand() < 0.15)
        out.push({
          feed: "esign",
          source: "edoc",
          env: { id, revision: 1 + Math.floor(rand() * 2), ts: when(), area: pick(areas), data: { ...data, signed: !data.signed } },
        });
    } else if (r < 0.8) {
      const source = pick(["viettel", "mobifone"]);
      const data = { service: pick(["mobile", "ftth"]), count: Math.floor(rand() * 100_000) };
      out.push({ feed: "subscribers", source, env: { id, ts: when(), area: pick(areas), data } });
      if (rand() < 0.1)
        out.push({
          feed: "subscribers",
          source,
          env: { id, revision: 1, ts: when(), area: pick(areas), data: { ...data, count: data.count - 1 } },
        });
    } else {
      const source = pick(["viettel", "vinaphone"]);
      const data = { station: `ST-${Math.floor(rand() * 25)}`, tech: pick(["4G", "5G"]), status: pick(["up", "up", "down", "degraded"]) };
      out.push({ feed: "bts", source, env: { id, ts: when(), area: pick(areas), data } });
      if (rand() < 0.1)
        out.push({ feed: "bts", source, env: { id, revision: 1, ts: when(), area: pick(areas), data: { ...data, status: "down" } } });
    }
    // A duplicate publish without Msg-Id now and then.
    if (rand() < 0.03) out.push({ ...out.at(-1)!, msgId: false });
  }
  // Shuffled: late and out-of-order events everywhere (a restatement may come before its original).
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Every aggregate row, every column, in a stable order. */
async function snapshot(db: Db, nonZeroOnly = false) {
  const q = async (text: string) => (await db.pool.query(text)).rows;
  const nz = nonZeroOnly ? "WHERE count <> 0" : "";
  return {
    esign: await q(
      `SELECT grain, bucket, source, agency, area, signed, signer, count FROM esign_counts ${nz} ORDER BY 1, 2, 3, 4, 5, 6, 7`,
    ),
    egov: await q(
      `SELECT grain, bucket, source, agency, level, channel, status, area, count FROM egov_counts ${nz} ORDER BY 1, 2, 3, 4, 5, 6, 7, 8`,
    ),
    subscribers: await q(`SELECT source, service, area, count, ts, revision, event_id FROM subscriber_gauges ORDER BY 1, 2, 3`),
    stations: await q(`SELECT source, station, tech, area, status, since, ts, revision, event_id FROM bts_stations ORDER BY 1, 2`),
  };
}

describe("pulse replay", () => {
  let h: Harness;
  let env: Record<string, string>;
  const publishAll = async (msgs: Msg[]) => {
    for (let i = 0; i < msgs.length; i += 200) {
      await Promise.all(msgs.slice(i, i + 200).map((m) => h.publish(m.feed, m.source, m.env, { msgId: m.msgId })));
    }
  };
  beforeAll(async () => {
    h = await ingestHarness("cli_replay");
    env = { DATABASE_URL: h.database.url, NATS_URL: h.config.natsUrl, PULSE_NAMESPACE: h.names.namespace! };
    await publishAll(history(1500, 7, "h"));
    await h.settle(30_000);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("gives back exactly what ingest built, and a second run changes nothing", async () => {
    const built = await snapshot(h.db);
    // The day really holds restatements, and buckets a restatement emptied (kept at 0).
    expect(
      (
        await h.db.pool.query("SELECT count(*)::int AS n FROM events WHERE revision > 0 AND ts >= $1 AND ts < $2", [
          new Date(dayStart),
          new Date(dayStart + 86_400_000),
        ])
      ).rows[0].n,
    ).toBeGreaterThan(10);
    expect(built.egov.length + built.esign.length).toBeGreaterThan(500);

    const dry = await runPulse(["replay", "--from", day, "--to", day, "--dry-run", "--json"], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json()).toMatchObject({ dry_run: true, changed: 0 });
    const three = await runPulse(["replay", "--from", "2026-11-19", "--to", "2026-11-21", "--json"], env);
    expect(three.json().changed).toBe(0);
    expect(three.json().days.map((d: { day: string; feed: string }) => `${d.day}/${d.feed}`)).toHaveLength(12);
    expect(await snapshot(h.db)).toEqual(built);
  });

  it("puts right what was damaged in that day, only there, with the change log following", async () => {
    const built = await snapshot(h.db);
    const inDay = `bucket >= '${new Date(dayStart).toISOString()}' AND bucket < '${new Date(dayStart + 86_400_000).toISOString()}'`;
    const x = (text: string) => h.db.pool.query(text);
    // Eight rows damaged in the day, one the day after.
    await x(
      `UPDATE egov_counts SET count = count + 5 WHERE ctid IN (SELECT ctid FROM egov_counts WHERE ${inDay} AND count > 0 AND grain = 'day' LIMIT 1)`,
    );
    await x(
      `UPDATE egov_counts SET count = count + 5 WHERE ctid IN (SELECT ctid FROM egov_counts WHERE ${inDay} AND count > 0 AND grain = 'minute' AND status = 'received' LIMIT 2)`,
    );
    await x(
      `DELETE FROM esign_counts WHERE ctid IN (SELECT ctid FROM esign_counts WHERE ${inDay} AND count > 0 AND grain = 'hour' LIMIT 1)`,
    );
    await x(
      `DELETE FROM esign_counts WHERE ctid IN (SELECT ctid FROM esign_counts WHERE ${inDay} AND count > 0 AND grain = 'day' LIMIT 1)`,
    );
    await x(
      `UPDATE egov_counts SET count = count + 5 WHERE ctid IN (SELECT ctid FROM egov_counts WHERE bucket >= '${new Date(dayStart + 86_400_000).toISOString()}' AND grain = 'day' AND count > 0 LIMIT 1)`,
    );
    const inDayEvents = (feed: string) =>
      `EXISTS (SELECT 1 FROM events e WHERE e.feed = '${feed}' AND e.ts >= '${new Date(dayStart).toISOString()}' AND e.ts < '${new Date(dayStart + 86_400_000).toISOString()}'`;
    await x(
      `UPDATE subscriber_gauges g SET count = count + 1 WHERE ctid IN (SELECT ctid FROM subscriber_gauges g WHERE ${inDayEvents("subscribers")} AND e.source = g.source AND e.data->>'service' = g.service AND e.area = g.area) LIMIT 1)`,
    );
    const stations = (
      await x(
        `SELECT source, station FROM bts_stations s WHERE ${inDayEvents("bts")} AND e.source = s.source AND e.data->>'station' = s.station) ORDER BY 1, 2 LIMIT 2`,
      )
    ).rows;
    await x(`DELETE FROM bts_stations WHERE source = '${stations[0].source}' AND station = '${stations[0].station}'`);
    await x(
      `UPDATE bts_stations SET since = since - interval '1 hour' WHERE source = '${stations[1].source}' AND station = '${stations[1].station}'`,
    );
    const damaged = await snapshot(h.db);

    const dry = await runPulse(["replay", "--from", day, "--to", day, "--dry-run", "--json"], env);
    expect(dry.json().changed).toBe(8);
    expect(await snapshot(h.db)).toEqual(damaged);
    const text = await runPulse(["replay", "--from", day, "--to", day, "--dry-run"], env);
    expect(text.stdout).toMatch(/dry run: 8 rows would change; nothing was written/);
    expect(text.stdout).toMatch(/bts_stations +viettel|bts_stations +vinaphone/);

    const lastChange = Number((await x("SELECT coalesce(max(id), 0) AS n FROM changes")).rows[0].n);
    const fixed = await runPulse(["replay", "--from", day, "--to", day, "--json"], env);
    expect(fixed.json().changed).toBe(8);
    const after = await snapshot(h.db);
    // Exactly what ingest built, except the day after, which was not replayed.
    expect({ ...after, egov: after.egov.filter((r) => r.bucket.getTime() < dayStart + 86_400_000) }).toEqual({
      ...built,
      egov: built.egov.filter((r) => r.bucket.getTime() < dayStart + 86_400_000),
    });
    expect(after.egov).not.toEqual(built.egov);
    expect((await runPulse(["replay", "--from", "2026-11-21", "--to", "2026-11-21", "--feed", "egov", "--json"], env)).json().changed).toBe(
      1,
    );
    expect(await snapshot(h.db)).toEqual(built);
    expect((await runPulse(["replay", "--from", day, "--to", day, "--json"], env)).json().changed).toBe(0);

    // The rebuilt values went to the change log (and the relay published them to LIVE).
    const log = (await x(`SELECT metric, entries FROM changes WHERE id > ${lastChange} ORDER BY id`)).rows;
    expect(new Set(log.map((r) => r.metric))).toEqual(
      new Set(["egov_day", "egov_minute", "esign_day", "subscribers", "bts_station", "bts_stations"]),
    );
    for (const e of log.find((r) => r.metric === "bts_station").entries) {
      const s = (
        await x(`SELECT tech, area, status, since FROM bts_stations WHERE source = '${e.key.source}' AND station = '${e.key.station}'`)
      ).rows[0];
      expect(e.value).toEqual({ tech: s.tech, area: s.area, status: s.status, since: s.since.toISOString() });
    }
    await h.settle();
  });

  it("stays exact while ingest keeps applying events beside it (the feed lock)", async () => {
    // New events and restatements of the old ones (a revision above any before), all in the day
    // being replayed, published in rounds while replays run; the last round after the last replay.
    // (Restatements keep each id's feed: an id reused across feeds is a producer's bug, and which
    // feed wins it depends on the order two streams are read in, in any ingest.)
    const phase1 = history(1500, 7, "h");
    const round = (n: number) => {
      const rand = rng(100 + n);
      const restated = phase1
        .filter(() => rand() < 0.05)
        .map((m) => ({ ...m, msgId: true, env: { ...m.env, revision: 5 + n, ts: local(dayStart + Math.floor(rand() * 86_400_000)) } }));
      return publishAll([...history(100, 100 + n, `n${n}-`, 86_400_000, dayStart), ...restated]);
    };
    let done = false;
    let replays = 0;
    let rounds = 0;
    // Rounds go on until four replays have run beside them (at most 60 rounds).
    const loop = (async () => {
      for (let n = 0; n < 60 && (n < 5 || replays < 4); n++, rounds++) {
        await round(n);
        await new Promise((r) => setTimeout(r, 150));
      }
      done = true;
    })();
    await new Promise((r) => setTimeout(r, 400));
    const inDay = `bucket >= '${new Date(dayStart).toISOString()}' AND bucket < '${new Date(dayStart + 86_400_000).toISOString()}'`;
    await h.db.pool.query(`UPDATE egov_counts SET count = count + 5 WHERE ${inDay} AND grain = 'day'`);
    await h.db.pool.query(`UPDATE esign_counts SET count = count + 3 WHERE ${inDay}`);
    await h.db.pool.query(`UPDATE subscriber_gauges SET count = 0`);
    let overlapped = 0;
    do {
      const r = await runPulse(["replay", "--from", day, "--to", day, "--json"], env);
      expect(r.code, r.stderr).toBe(0);
      if (!done) overlapped++;
      replays++;
    } while (!done);
    await loop;
    expect(overlapped).toBeGreaterThanOrEqual(2);
    await round(rounds);
    await h.settle(30_000);

    // The reference: a second ingest reading the same streams into a database of its own.
    const database: TestDatabase = await createTestDatabase("cli_replay_ref");
    const refDb = createDb({ url: database.url, poolMax: 2 });
    const names = {
      ...h.names,
      consumerPrefix: "ref",
      live: `${h.names.live}_REF`,
      livePrefix: `${h.names.livePrefix}_ref`,
      advisories: `${h.names.advisories}_REF`,
    };
    let ref: Ingest | null = null;
    try {
      ref = await startIngest(
        loadConfig(
          { DATABASE_URL: database.url, INGEST_PORT: "0", LOG_LEVEL: "error", NATS_URL: h.config.natsUrl },
          { names, probeMs: 200 },
        ),
      );
      // Settled when its consumers have nothing pending or unacknowledged. (feed_status.events
      // cannot tell: it counts the versions a batch applied, and a batch applies one per record.)
      for (let t = Date.now(); (await unsettledTotal(h.nc, names)) > 0;) {
        if (Date.now() - t > 45_000) throw new Error(`reference ingest not settled: ${await unsettledTotal(h.nc, names)} messages`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(await snapshot(h.db, true)).toEqual(await snapshot(refDb, true));
    } finally {
      await ref?.close();
      const jsm = await jetstreamManager(h.nc);
      for (const s of [names.live, names.advisories]) await jsm.streams.delete(s).catch(() => {});
      await refDb.close();
      await database.drop();
    }
  });

  it("waits for a batch of the feed in progress: it takes the feed's lock, as ingest's batches do", async () => {
    const c = await h.db.pool.connect();
    try {
      // What a batch of egov holds from BEGIN to COMMIT (inFeedTransaction).
      await c.query("BEGIN");
      await c.query("SELECT pg_advisory_xact_lock($1, $2)", [lockSpace, feeds.indexOf("egov")]);
      let finished = false;
      const egov = runPulse(["replay", "--from", day, "--to", day, "--feed", "egov", "--json"], env).then((r) => ((finished = true), r));
      // Another feed's replay does not wait for it.
      expect((await runPulse(["replay", "--from", day, "--to", day, "--feed", "esign", "--json"], env)).code).toBe(0);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(finished).toBe(false);
      await c.query("COMMIT");
      expect((await egov).json().changed).toBe(0);
    } finally {
      c.release();
    }
  });

  it("keeps a run's start the raw events no longer hold (pruned), trusts them where nothing can be", async () => {
    const early = dayStart - 5 * 86_400_000 + 3_600_000;
    await h.publish("bts", "viettel", make.bts("pr-1", "PR-1", "up", { ts: local(early) }));
    await h.publish("bts", "viettel", make.bts("pr-2", "PR-1", "up", { ts: local(dayStart + 3_600_000) }));
    await h.settle();
    const since = async () => (await h.db.pool.query("SELECT since FROM bts_stations WHERE station = 'PR-1'")).rows[0].since.getTime();
    expect(await since()).toBe(early);
    // The hourly prune took the first reading: received longer ago than the retention.
    await h.db.pool.query("DELETE FROM events WHERE source = 'viettel' AND id = 'pr-1'");
    const retention = Math.floor((Date.now() - dayStart) / 86_400_000) + 2;
    const pruned = { ...env, EVENTS_RETENTION_DAYS: String(retention) };
    const r = await runPulse(["replay", "--from", day, "--to", day, "--feed", "bts", "--json"], pruned);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().changed).toBe(0);
    expect(await since()).toBe(early);
    // With the default retention no reading of then can have been pruned: the raw events rule.
    const strict = (await runPulse(["replay", "--from", day, "--to", day, "--feed", "bts", "--dry-run", "--json"], env)).json();
    expect(strict.days[0].changes).toEqual([
      expect.objectContaining({
        table: "bts_stations",
        key: { source: "viettel", station: "PR-1" },
        after: expect.objectContaining({ since: new Date(dayStart + 3_600_000).toISOString() }),
      }),
    ]);
  });

  it("refuses bad days and days past the raw-event retention", async () => {
    for (const args of [
      ["--from", "2026-11-31", "--to", "2026-12-01"],
      ["--from", "2026-11-20", "--to", "2026-11-19"],
      ["--from", "2026-11-20"],
      ["--from", day, "--to", day, "--feed", "weather"],
    ]) {
      const r = await runPulse(["replay", ...args], env);
      expect([args.join(" "), r.code]).toEqual([args.join(" "), 2]);
    }
    const old = await runPulse(["replay", "--from", day, "--to", day], { ...env, EVENTS_RETENTION_DAYS: "5" });
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/older than the raw-event retention allows \(EVENTS_RETENTION_DAYS=5\)/);
  });
});
