/**
 * Sends records for real and learns how each was settled: JetStream's answer (a duplicate
 * Msg-Id), then ingest's — a refusal heard on `rejects.<source>` (matched by stream and
 * sequence), or its consumer's acknowledgement floor passing the message with no refusal. Shared
 * by `pulse publish`, `pulse dlq retry` (packages/cli); the HTTPS door runs the same rules
 * streaming, in `FeedSettler`.
 */
import { createHash } from "node:crypto";
import { consumerName, parseFeedSubject, subjects, type Feed, type Reason, type Reject } from "@pulse/contracts";
import { deadLettersFor, storedVersions, type Db } from "@pulse/db";
import { feedStream, headers, jetstream, jetstreamManager, withPrefix, type NatsConnection, type StreamNames } from "@pulse/nats";
import { classifyPublishError } from "./publish-failure";
import { identify, recordKey, type RecordIdentity } from "./record-key";

export interface Outgoing {
  /** Caller's tag (a line number, a dead-letter id). */
  tag: number;
  /** Canonical subject. */
  subject: string | null;
  payload: Uint8Array;
  /** Nats-Msg-Id; default `<source>:<id>:<revision>` read from the payload, else a hash of it. */
  msgId?: string;
  /** Refused before sending (the line names no subject). */
  unsendable?: { reason: Reason; detail: string } | null;
}

export type SettledStatus = "accepted" | "duplicate" | "refused" | "unsettled";

export interface Settled {
  tag: number;
  status: SettledStatus;
  /** Who said so: JetStream (at publish), ingest (a refusal, an acknowledgement), or this CLI (not sent). */
  by: "jetstream" | "ingest" | "cli";
  reason?: Reason;
  detail?: string;
  stream?: string;
  seq?: number;
  msgId?: string;
  /** For a refusal stored by ingest: the dead letter's id, when the database could be read. */
  deadLetterId?: number;
}

export interface SettleOptions {
  names: StreamNames;
  /** Read to tell a new record from one ingest already held (and missed refusals); optional. */
  db: Db | null;
  /** Publishes in flight at once. Default 256. */
  inFlight?: number;
  /** Give up waiting for ingest after this long. Default 30,000 ms. */
  timeoutMs?: number;
  onSettled?: (n: number) => void;
}

interface Pending {
  out: Outgoing;
  feed: Feed;
  stream: string;
  seq: number;
  msgId: string;
  /** When the consumer's floor was first seen past it (a refusal may still be on its way). */
  floorSeenAt?: number;
  key?: { source: string; id: string; revision: number };
}

/** Sends every record and waits until each is settled or the timeout passes. Results in input order. */
export async function sendAndSettle(nc: NatsConnection, items: readonly Outgoing[], o: SettleOptions): Promise<Settled[]> {
  const js = jetstream(nc);
  const inFlight = o.inFlight ?? 256;
  const timeoutMs = o.timeoutMs ?? 30_000;
  const results = new Map<number, Settled>();
  const pending = new Map<string, Pending>();
  const settle = (s: Settled) => {
    if (results.has(s.tag)) return;
    results.set(s.tag, s);
    o.onSettled?.(results.size);
  };

  // Listen before sending: a refusal can come back within milliseconds. One subscription per
  // source in the input, not rejects.*: a producer's NATS user may hear only its own rejects.
  const rejects = new Map<string, Reject>();
  const onReject = (_err: unknown, m: { json<T>(): T }) => {
    try {
      const r = m.json<Reject>();
      const feed = parseFeedSubject(r.subject)?.feed;
      if (feed) rejects.set(`${feedStream(o.names, feed)}:${r.stream_seq}`, r);
    } catch {}
  };
  const sourcesOf = new Set(
    items.map((it) => (it.subject ? (parseFeedSubject(it.subject)?.source ?? null) : null)).filter((x) => x !== null),
  );
  const subs = [...sourcesOf].map((source) => nc.subscribe(withPrefix(o.names, subjects.rejects(source)), { callback: onReject }));

  // What ingest held before: a record at or below a stored revision changes nothing.
  const keys = new Map<number, { source: string; id: string; revision: number }>();
  for (const it of items) {
    if (!it.subject || it.unsendable) continue;
    const k = identify(it.subject, it.payload);
    if (k) keys.set(it.tag, k);
  }
  const stored = o.db
    ? await storedVersions(o.db.db, [...new Map([...keys.values()].map((k) => [recordKey(k.source, k.id), k])).values()])
    : new Map<string, { feed: string; revision: number }>();

  // A record whose (source, id) an earlier record used for another feed waits for that one to be
  // settled: the two go to different streams, and ingest's answer (id_conflict) depends on order.
  const feedOfKey = new Map<string, { feed: Feed; tag: number }>();
  const sending = new Set<Promise<void>>();

  const send = async (it: Outgoing, feed: Feed) => {
    const k = keys.get(it.tag);
    const msgId = it.msgId ?? (k ? `${k.source}:${k.id}:${k.revision}` : `sha256:${createHash("sha256").update(it.payload).digest("hex")}`);
    const h = headers();
    h.set("Nats-Msg-Id", msgId);
    try {
      const ack = await js.publish(withPrefix(o.names, it.subject!), it.payload, { headers: h, timeout: 10_000 });
      if (ack.duplicate) {
        settle({
          tag: it.tag,
          status: "duplicate",
          by: "jetstream",
          detail: `JetStream already has Msg-Id ${msgId}`,
          stream: ack.stream,
          seq: ack.seq,
          msgId,
        });
      } else {
        pending.set(`${ack.stream}:${ack.seq}`, { out: it, feed, stream: ack.stream, seq: ack.seq, msgId, key: k });
      }
    } catch (err) {
      const f = classifyPublishError(err, withPrefix(o.names, it.subject!));
      if (f.kind === "refused") settle({ tag: it.tag, status: "refused", by: "jetstream", reason: f.reason, detail: f.detail, msgId });
      else settle({ tag: it.tag, status: "unsettled", by: "jetstream", detail: f.detail, msgId });
    }
  };

  for (const it of items) {
    if (it.unsendable || !it.subject) {
      settle({
        tag: it.tag,
        status: "refused",
        by: "cli",
        ...(it.unsendable ?? { reason: "bad_subject", detail: "no subject" }),
        detail: `not sent: ${it.unsendable?.detail}`,
      });
      continue;
    }
    const route = parseFeedSubject(it.subject);
    if (!route) {
      settle({
        tag: it.tag,
        status: "refused",
        by: "cli",
        reason: "bad_subject",
        detail: `not sent: subject ${JSON.stringify(it.subject)} is not feeds.<feed>.<source>, and no stream takes it`,
      });
      continue;
    }
    const k = keys.get(it.tag);
    if (k) {
      const earlier = feedOfKey.get(recordKey(k.source, k.id));
      if (earlier && earlier.feed !== route.feed) {
        await Promise.all(sending);
        await waitSettled(nc, o.names, pending, rejects, settle, o.db, timeoutMs, (p) => p.out.tag === earlier.tag, results);
      }
      if (!earlier) feedOfKey.set(recordKey(k.source, k.id), { feed: route.feed, tag: it.tag });
    }
    const p = send(it, route.feed).finally(() => sending.delete(p));
    sending.add(p);
    if (sending.size >= inFlight) await Promise.race(sending);
  }
  await Promise.all(sending);
  await waitSettled(nc, o.names, pending, rejects, settle, o.db, timeoutMs, () => true, results);
  for (const sub of subs) sub.unsubscribe();

  labelHeldDuplicates(
    [...results.values()].filter((s) => s.status === "accepted"),
    keys,
    stored,
  );
  if (!o.db)
    for (const s of results.values())
      if (s.status === "accepted")
        s.detail = `${s.detail ?? "settled by ingest without a refusal"} (database not read: a repeat of a stored record also looks like this)`;
  return items.map((it) => results.get(it.tag)!);
}

/**
 * Not refused and past the consumer: accepted, or a duplicate of what ingest held. Ingest keeps
 * one version per (source, id), the highest revision; walked in stream order per key, as it
 * labels a batch. `stored` is what the database held before these were sent; relabels in place.
 */
export function labelHeldDuplicates(
  accepted: Settled[],
  keys: ReadonlyMap<number, RecordIdentity>,
  stored: ReadonlyMap<string, { revision: number }>,
): void {
  const passed = accepted.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
  const high = new Map<string, number>();
  for (const s of passed) {
    const k = keys.get(s.tag);
    if (!k) continue;
    const rk = recordKey(k.source, k.id);
    const before = high.has(rk) ? high.get(rk)! : (stored.get(rk)?.revision ?? -1);
    if (k.revision > before) {
      high.set(rk, k.revision);
    } else {
      s.status = "duplicate";
      s.detail = `ingest already held revision ${before} of ${k.source} id ${JSON.stringify(k.id)}: nothing changed`;
      high.set(rk, before);
    }
  }
}

/** Waits until the pending messages `which` selects are settled, or the timeout; the rest stay pending. */
async function waitSettled(
  nc: NatsConnection,
  names: StreamNames,
  pending: Map<string, Pending>,
  rejects: Map<string, Reject>,
  settle: (s: Settled) => void,
  db: Db | null,
  timeoutMs: number,
  which: (p: Pending) => boolean,
  results: Map<number, Settled>,
): Promise<void> {
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const until = Date.now() + timeoutMs;
  const graceMs = 300;
  const deniedFloor = new Map<Feed, string>();
  for (;;) {
    const mine = [...pending.values()].filter(which);
    for (const p of mine) {
      const r = rejects.get(`${p.stream}:${p.seq}`);
      if (r) {
        pending.delete(`${p.stream}:${p.seq}`);
        settle({
          tag: p.out.tag,
          status: "refused",
          by: "ingest",
          reason: r.reason,
          detail: r.detail,
          stream: p.stream,
          seq: p.seq,
          msgId: p.msgId,
        });
      }
    }
    const left = [...pending.values()].filter(which);
    if (left.length === 0) return;
    const now = Date.now();
    if (now > until) {
      for (const p of left) {
        pending.delete(`${p.stream}:${p.seq}`);
        const denied = deniedFloor.get(p.feed);
        if (denied) {
          // A producer's NATS user may publish and hear its rejects but not read ingest's
          // consumer: silence is then all there is to go by, and the line says so.
          settle({
            tag: p.out.tag,
            status: "accepted",
            by: "ingest",
            detail: `no refusal heard within ${Math.round(timeoutMs / 1000)} s; settlement not seen, as this NATS user may not read ingest's consumer (${denied})`,
            stream: p.stream,
            seq: p.seq,
            msgId: p.msgId,
          });
          continue;
        }
        settle({
          tag: p.out.tag,
          status: "unsettled",
          by: "ingest",
          detail: `not settled by ingest within ${Math.round(timeoutMs / 1000)} s (stream ${p.stream} sequence ${p.seq}): is ingest running?`,
          stream: p.stream,
          seq: p.seq,
          msgId: p.msgId,
        });
      }
      return;
    }
    // The consumer's acknowledgement floor: every message at or below it was acked or terminated.
    const floors = new Map<Feed, number>();
    for (const feed of new Set(left.map((p) => p.feed))) {
      try {
        const info = await jsm.consumers.info(feedStream(names, feed), consumerName(feed, names.consumerPrefix));
        floors.set(feed, info.ack_floor.stream_seq);
        deniedFloor.delete(feed);
      } catch (err) {
        const msg = (err as Error).message;
        if (/permission/i.test(msg)) deniedFloor.set(feed, msg);
      }
    }
    const past: Pending[] = [];
    for (const p of left) {
      if ((floors.get(p.feed) ?? 0) < p.seq) continue;
      p.floorSeenAt ??= now;
      // A refusal is published right after the termination: give it a moment to arrive, then ask
      // the database (a refusal missed during a reconnect is still stored there).
      if (now - p.floorSeenAt >= graceMs) past.push(p);
    }
    const stored = new Map<string, { id: number; reason: string; detail: string }>();
    if (db) {
      for (const stream of new Set(past.map((p) => p.stream))) {
        const found = await deadLettersFor(
          db.db,
          stream,
          past.filter((p) => p.stream === stream).map((p) => p.seq),
        ).catch(() => new Map<number, { id: number; reason: string; detail: string }>());
        for (const [seq, d] of found) stored.set(`${stream}:${seq}`, d);
      }
    }
    for (const p of past) {
      const d = stored.get(`${p.stream}:${p.seq}`);
      pending.delete(`${p.stream}:${p.seq}`);
      if (d) {
        settle({
          tag: p.out.tag,
          status: "refused",
          by: "ingest",
          reason: d.reason as Reason,
          detail: d.detail,
          stream: p.stream,
          seq: p.seq,
          msgId: p.msgId,
          deadLetterId: d.id,
        });
      } else if (!results.has(p.out.tag)) {
        settle({ tag: p.out.tag, status: "accepted", by: "ingest", stream: p.stream, seq: p.seq, msgId: p.msgId });
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
