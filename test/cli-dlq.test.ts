import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPulse } from "@pulse/cli/testing";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { insertDeadLetters } from "@pulse/db";
import { feedStream } from "@pulse/nats";
import { freePort } from "@pulse/testkit";

// Dead letters put right: a record refused as too_large by an ingest with a tight size limit is
// retried once the limit is raised, and lands; a second retry changes nothing; one whose cause
// is still there comes back refused, as a new dead letter linked to the first.
describe("pulse dlq", () => {
  let h: Harness;
  let env: Record<string, string>;
  const long = "x".repeat(120);
  beforeAll(async () => {
    h = await ingestHarness("cli_dlq", { config: { maxBytes: 256 } });
    env = {
      DATABASE_URL: h.database.url,
      NATS_URL: h.config.natsUrl,
      PULSE_NAMESPACE: h.names.namespace!,
      LIVE_ADMIN_URL: `http://127.0.0.1:${await freePort()}`,
    };
    await h.publish(
      "egov",
      "dvc",
      make.egov("big:received", "received", {
        data: { procedure: long, agency: long, level: "commune", channel: "online_full", status: "received" },
      }),
    );
    await h.publish("egov", "dvc", make.egov("t1:received", "received", { ts: "2026-11-26T09:15:00" }));
    await h.publish("egov", "dvc", make.egov("ok:received", "received"));
    await h.settle();
  });
  afterAll(async () => {
    await h?.close();
  });

  const egovCount = async () =>
    Number((await h.db.pool.query("SELECT coalesce(sum(count), 0) AS n FROM egov_counts WHERE grain = 'day'")).rows[0].n);

  it("lists and shows what was refused, and why", async () => {
    const all = (await runPulse(["dlq", "list", "--json"], env)).json().dead_letters;
    expect(all.map((d: { reason: string }) => d.reason).sort()).toEqual(["bad_time", "too_large"]);
    const big = (await runPulse(["dlq", "list", "--reason", "too_large", "--source", "dvc", "--since", "1h", "--json"], env)).json()
      .dead_letters;
    expect(big).toHaveLength(1);
    expect((await runPulse(["dlq", "list", "--since", "2100-01-01", "--json"], env)).json().dead_letters).toEqual([]);
    const shown = await runPulse(["dlq", "show", String(big[0].id), "--json"], env);
    expect(shown.json()).toMatchObject({ reason: "too_large", subject: "feeds.egov.dvc", retries: 0, payload_encoding: "utf-8" });
    expect(JSON.parse(shown.json().payload).data.agency).toBe(long);
    expect(shown.json().detail).toMatch(/the limit is 256/);
    const text = await runPulse(["dlq", "show", String(big[0].id)], env);
    expect(text.stdout).toMatch(/reason\s+too_large: the payload is larger than the size limit/);
    expect(text.stdout).toMatch(/retries\s+none: held/);
    const list = await runPulse(["dlq", "list"], env);
    expect(list.stdout).toMatch(/2 dead letters/);
    // The exporter's view of what is held, through status.
    const s = (await runPulse(["status", "--json"], env)).json();
    expect(s.dead_letters_held).toEqual([
      { reason: "bad_time", count: 1 },
      { reason: "too_large", count: 1 },
    ]);
    expect(s.gateway).toMatchObject({ reachable: false });
    expect((await runPulse(["status"], env)).stdout).toMatch(/gateway not reachable/);
    expect(s.feeds.find((f: { source: string; feed: string }) => f.source === "dvc" && f.feed === "egov").last_received_at).not.toBeNull();
    expect(s.consumers.map((c: { feed: string }) => c.feed)).toEqual(["subscribers", "bts", "esign", "egov"]);
  });

  it("retries a dead letter whose cause was fixed: it lands once, a second retry changes nothing", async () => {
    const [big] = (await runPulse(["dlq", "list", "--reason", "too_large", "--json"], env)).json().dead_letters;
    const before = await egovCount();
    // Still the tight limit: refused again, as a new dead letter linked to this one.
    const again = await runPulse(["dlq", "retry", String(big.id), "--json"], env);
    expect(again.code).toBe(1);
    const first = again.json().retried[0];
    expect(first).toMatchObject({ id: Number(big.id), status: "refused", reason: "too_large", msg_id: `retry:${big.id}` });
    expect(first.new_dead_letter_id).toBeGreaterThan(Number(big.id));
    // The fix: ingest restarted with the default limit. The next retry has a Msg-Id of its own
    // (retry:<id>:1), so JetStream does not drop it as a repeat of the refused one.
    await h.stopIngest();
    await h.startIngest({ maxBytes: 65_536 });
    const fixed = await runPulse(["dlq", "retry", String(big.id), "--json"], env);
    expect(fixed.code, fixed.stdout + fixed.stderr).toBe(0);
    expect(fixed.json().retried[0]).toMatchObject({ status: "accepted", msg_id: `retry:${big.id}:1` });
    expect(await egovCount()).toBe(before + 1);
    expect((await h.db.pool.query("SELECT count(*)::int AS n FROM events WHERE id = 'big:received'")).rows[0].n).toBe(1);
    const shown = (await runPulse(["dlq", "show", String(big.id), "--json"], env)).json();
    expect(shown).toMatchObject({ retries: 2, retry_outcome: "accepted", retry_dead_letter_id: null });
    expect(shown.retry_detail).toMatch(/^landed: stream /);
    // Twice more: JetStream drops the repeat of the same Msg-Id; nothing changes.
    const figures = await h.figures();
    const second = await runPulse(["dlq", "retry", String(big.id), "--json"], env);
    expect(second.code).toBe(0);
    expect(second.json().retried[0]).toMatchObject({ status: "duplicate", by: "jetstream" });
    await h.settle();
    expect(await h.figures()).toEqual(figures);
    expect(await egovCount()).toBe(before + 1);
    // It stays recorded as landed, where it landed.
    expect((await runPulse(["dlq", "show", String(big.id), "--json"], env)).json()).toMatchObject({
      retries: 3,
      retry_outcome: "accepted",
      retry_detail: shown.retry_detail,
    });
    // The refused copy from the first attempt is still held; retried by reason, it is a
    // duplicate for ingest (the record is stored now): nothing changes either.
    const byReason = await runPulse(["dlq", "retry", "--reason", "too_large", "--json"], env);
    expect(byReason.json().retried).toEqual([expect.objectContaining({ id: first.new_dead_letter_id, status: "duplicate", by: "ingest" })]);
    await h.settle();
    expect(await h.figures()).toEqual(figures);
    expect((await runPulse(["dlq", "list", "--held", "--json"], env)).json().dead_letters.map((d: { reason: string }) => d.reason)).toEqual(
      ["bad_time"],
    );
  });

  it("a dead letter whose cause is still there comes back refused", async () => {
    const r = await runPulse(["dlq", "retry", "--source", "dvc"], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/: refused \(bad_time: ts "2026-11-26T09:15:00" is not an RFC 3339 time with an offset: it has no offset/);
    expect(r.stdout).toMatch(/→ dead letter #\d+/);
    expect(r.stdout).toMatch(/1 retried: 0 accepted, 0 duplicate, 1 refused, 0 unsettled/);
  });

  it("refuses bad arguments with exit 2, and purges by time", async () => {
    for (const args of [
      ["dlq", "retry"],
      ["dlq", "retry", "x1"],
      ["dlq", "retry", "1", "--reason", "bad_time"],
      ["dlq", "list", "--reason", "nope"],
      ["dlq", "list", "--since", "yesterday"],
      ["dlq", "purge"],
    ]) {
      const r = await runPulse(args, env);
      expect([args.join(" "), r.code]).toEqual([args.join(" "), 2]);
      expect(r.stderr.length, args.join(" ")).toBeGreaterThan(0);
    }
    expect((await runPulse(["dlq", "show", "999999"], env)).code).toBe(1);
    expect((await runPulse(["dlq", "purge", "--before", "1d", "--json"], env)).json().deleted).toBe(0);
    const n = (await h.db.pool.query("SELECT count(*)::int AS n FROM dead_letters WHERE retried_at IS NOT NULL")).rows[0].n;
    expect((await runPulse(["dlq", "purge", "--before", "2100-01-01", "--retried-only", "--json"], env)).json().deleted).toBe(n);
    expect((await runPulse(["dlq", "list", "--json"], env)).json().dead_letters.every((d: { retries: number }) => d.retries === 0)).toBe(
      true,
    );
  });
});

// Before the map of 2025 was in seeds, a record for a commune or ward was refused unknown_area
// (the decoder knew only districts). Those dead letters land once when retried by that reason.
describe("pulse dlq retry --reason unknown_area, after the map change", () => {
  let h: Harness;
  let env: Record<string, string>;
  const at = (ms: number) => `${new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19)}+07:00`;
  const now = Date.now();
  const record = (id: string, area: string, ts: string, count: number) =>
    new TextEncoder().encode(JSON.stringify({ v: 1, id, source: "viettel", ts, area, data: { service: "mobile", count } }));
  beforeAll(async () => {
    h = await ingestHarness("cli_dlq_area");
    env = {
      DATABASE_URL: h.database.url,
      NATS_URL: h.config.natsUrl,
      PULSE_NAMESPACE: h.names.namespace!,
      LIVE_ADMIN_URL: `http://127.0.0.1:${await freePort()}`,
    };
    // Stored as the old decoder stored them (its detail text), an hour ago.
    const old = (seq: number, id: string, area: string, ts: string, count: number) => ({
      stream: feedStream(h.names, "subscribers"),
      streamSeq: seq,
      receivedAt: new Date(now - 3_600_000),
      subject: "feeds.subscribers.viettel",
      source: "viettel",
      feed: "subscribers",
      eventId: id,
      revision: 0,
      reason: "unknown_area",
      detail: `area "${area}" is not accepted for subscribers: use a district code (412-432)`,
      payload: record(id, area, ts, count),
    });
    await insertDeadLetters(h.db.db, [
      // Phường Cửa Lò dated today: good now.
      old(9_001, "old-16732", "16732", at(now - 3_600_000), 4_321),
      // Another province's code: still unknown.
      old(9_002, "old-380", "380", at(now - 3_600_000), 5),
    ]);
  });
  afterAll(async () => {
    await h?.close();
  });

  const landed = async () =>
    (await h.db.pool.query("SELECT area, count::int AS count FROM subscriber_gauges WHERE source = 'viettel' ORDER BY 1")).rows;

  it("lands the commune's record exactly once; a code that is still unknown comes back refused", async () => {
    const r = await runPulse(["dlq", "retry", "--reason", "unknown_area", "--json"], env);
    expect(r.code).toBe(1); // one refused again
    const out = r.json().retried as { id: number; status: string; reason?: string; detail: string }[];
    const held = (await h.db.pool.query("SELECT id::int, event_id FROM dead_letters WHERE stream_seq IN (9001, 9002) ORDER BY 1")).rows;
    const byEvent = new Map(held.map((x: { id: number; event_id: string }) => [x.event_id, x.id]));
    expect(out.find((x) => x.id === byEvent.get("old-16732"))).toMatchObject({ status: "accepted" });
    expect(out.find((x) => x.id === byEvent.get("old-380"))).toMatchObject({
      status: "refused",
      reason: "unknown_area",
      detail: expect.stringContaining('area "380" is not a code of this province on any date'),
    });
    await h.settle();
    expect(await landed()).toEqual([{ area: "16732", count: 4_321 }]);
    expect(await h.count("events", "id = 'old-16732'")).toBe(1);

    // Again by reason: only what is still held (the refused one's new dead letter) goes.
    const again = await runPulse(["dlq", "retry", "--reason", "unknown_area", "--json"], env);
    expect(again.json().retried.map((x: { status: string }) => x.status)).toEqual(["refused"]);
    // Again by id: a duplicate, nothing changes.
    const byId = await runPulse(["dlq", "retry", String(byEvent.get("old-16732")), "--json"], env);
    expect(byId.json().retried[0]).toMatchObject({ status: "duplicate" });
    await h.settle();
    expect(await landed()).toEqual([{ area: "16732", count: 4_321 }]);
    expect(await h.count("events", "id = 'old-16732'")).toBe(1);
    expect(await h.count("dead_letters", "retried_at IS NULL AND reason = 'unknown_area'")).toBe(1);
  });
});
