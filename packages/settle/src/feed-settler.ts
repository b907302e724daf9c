/**
 * The long-lived form of `sendAndSettle`, for a service that sends on behalf of many requests at
 * once (the HTTPS door): one subscription to every source's rejects, one poll of each feed
 * consumer's acknowledgement floor shared by all waiting messages, one database look-up per poll
 * for the dead letters of what passed the floor. The same rules as `sendAndSettle`:
 * - JetStream answers `duplicate` for a Msg-Id it holds: settled as a duplicate at once;
 * - a refusal heard on `rejects.<source>` (matched by stream and sequence): refused, ingest's reason;
 * - the consumer's floor past the message: refused if ingest stored a dead letter for it (ingest
 *   commits the dead letter before it terminates the message, so no grace is needed when the
 *   database is read), else accepted. Whether ingest already held that revision is the caller's
 *   to tell (`labelHeldDuplicates`), as only it knows what was stored before it sent.
 * It also reads, from those same polls, whether ingest is behind on a feed (contracts'
 * `pipelineBehindJudge`), so a caller can refuse to add to a backlog.
 */
import { consumerName, feeds, parseFeedSubject, pipelineBehindJudge, type Feed, type Reason, type Reject } from "@pulse/contracts";
import { deadLettersFor, type Db } from "@pulse/db";
import {
  createInbox,
  feedStream,
  headers,
  jetstreamManager,
  withoutPrefix,
  withPrefix,
  type JetStreamManager,
  type Msg,
  type NatsConnection,
  type StreamNames,
  type Subscription,
} from "@pulse/nats";
import { classifyPublishError } from "./publish-failure";
import type { Settled } from "./send-and-settle";

export interface FeedSettlerOptions {
  names: StreamNames;
  /** Read for the dead letters of messages past the floor. Null: a refusal must be heard on rejects. */
  db: Db | null;
  /** How often the floors are read while messages wait. Default 25 ms. */
  pollMs?: number;
  /** How often the consumers are read while nothing waits (for `behind`). Default 1,000 ms. */
  idlePollMs?: number;
  /** How long a sent message may wait for ingest. Default 30,000 ms. */
  timeoutMs?: number;
  /** How long JetStream may take to answer a publish. Default 5,000 ms. */
  publishTimeoutMs?: number;
  /** contracts' `pipelineBehindJudge` options. */
  behindPending?: number;
  stallMs?: number;
}

/** One record to send: its canonical subject (`feeds.<feed>.<source>`), bytes and Msg-Id. */
export interface ToSend {
  subject: string;
  payload: Uint8Array;
  msgId: string;
  /** Wait for ingest until this time (epoch ms). Default: now + `timeoutMs`. */
  until?: number;
}

/** What became of one record: `Settled` without a tag, or `not_sent` when the publish failed. */
export type SendOutcome = Omit<Settled, "tag" | "status"> & { status: Settled["status"] | "not_sent" };

interface Waiting {
  feed: Feed;
  stream: string;
  seq: number;
  msgId: string;
  until: number;
  /** When the floor was first seen past it with no database to ask. */
  floorSeenAt?: number;
  resolve: (s: SendOutcome) => void;
}

const graceWithoutDbMs = 300;

/** JetStream's answer to a publish, as it comes on the reply subject. */
interface PubAckBody {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; err_code?: number; description?: string };
}
type PublishAnswer = { ok: true; stream: string; seq: number; duplicate: boolean } | { ok: false; err: unknown };

export class FeedSettler {
  private readonly o: Required<Omit<FeedSettlerOptions, "db" | "behindPending" | "stallMs">> & FeedSettlerOptions;
  private jsm: JetStreamManager | null = null;
  private readonly waiting = new Map<string, Waiting>();
  /** The same, per feed, in stream order: a poll walks only those at or below the floor. */
  private readonly byFeed = new Map<Feed, Waiting[]>();
  private lastExpiryScan = 0;
  /** Refusals heard before their publish was answered (rare: ingest lingers 20 ms), briefly. */
  private readonly early = new Map<string, { r: Reject; at: number }>();
  private sub: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private closed = false;
  private readonly judge;
  private readonly behindFeeds = new Set<Feed>();
  private nextAt = Number.POSITIVE_INFINITY;
  private lastFullPollAt = 0;
  /**
   * Publishes awaiting JetStream's answer, by reply token. Published with a reply subject under
   * one inbox subscription rather than one `js.publish` request each: nats.js gives every request
   * a mux entry, a timer and two Error objects, which were a third of the door's CPU.
   */
  private readonly acks = new Map<number, { resolve: (a: PublishAnswer) => void; until: number }>();
  private ackInbox = "";
  private ackSub: Subscription | null = null;
  private nextAck = 0;
  private ackSweep: NodeJS.Timeout | null = null;

  constructor(
    private readonly nc: NatsConnection,
    options: FeedSettlerOptions,
  ) {
    this.o = { pollMs: 25, idlePollMs: 1_000, timeoutMs: 30_000, publishTimeoutMs: 5_000, ...options };
    this.judge = pipelineBehindJudge({ behindPending: options.behindPending, stallMs: options.stallMs });
  }

  /** Listens to every source's rejects and starts polling. */
  async start(): Promise<void> {
    this.jsm = await jetstreamManager(this.nc, { checkAPI: false });
    this.sub = this.nc.subscribe(`${this.o.names.rejectsPrefix}.>`, {
      callback: (_err, m) => {
        try {
          this.onReject(m.json<Reject>());
        } catch {}
      },
    });
    this.ackInbox = createInbox((this.nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
    this.ackSub = this.nc.subscribe(`${this.ackInbox}.*`, { callback: (_err, m) => this.onPubAck(m) });
    // A publish unanswered in time is not known to be stored (as a `js.publish` timeout).
    this.ackSweep = setInterval(() => {
      const now = Date.now();
      for (const [token, a] of this.acks)
        if (now > a.until) {
          this.acks.delete(token);
          a.resolve({ ok: false, err: new Error(`no answer from JetStream within ${this.o.publishTimeoutMs} ms (TIMEOUT)`) });
        }
    }, 100);
    this.ackSweep.unref();
    this.schedule(0);
  }

  private onPubAck(m: Msg): void {
    const token = Number(m.subject.slice(this.ackInbox.length + 1));
    const a = this.acks.get(token);
    if (!a) return; // answered after its timeout: the caller was told "not known to be stored"
    this.acks.delete(token);
    if (m.headers?.code === 503) {
      a.resolve({ ok: false, err: Object.assign(new Error("no responders"), { code: "503" }) });
      return;
    }
    let b: PubAckBody;
    try {
      b = m.json<PubAckBody>();
    } catch (err) {
      a.resolve({ ok: false, err });
      return;
    }
    if (b.error || typeof b.stream !== "string" || typeof b.seq !== "number")
      a.resolve({
        ok: false,
        err: Object.assign(new Error(b.error?.description ?? "JetStream's answer names no stream"), { code: String(b.error?.code ?? "") }),
      });
    else a.resolve({ ok: true, stream: b.stream, seq: b.seq, duplicate: b.duplicate === true });
  }

  /** One publish with its Msg-Id; JetStream's answer, or why there is none. */
  private publish(subject: string, payload: Uint8Array, msgId: string): Promise<PublishAnswer> {
    const h = headers();
    h.set("Nats-Msg-Id", msgId);
    const token = this.nextAck++;
    return new Promise<PublishAnswer>((resolve) => {
      this.acks.set(token, { resolve, until: Date.now() + this.o.publishTimeoutMs });
      try {
        this.nc.publish(subject, payload, { headers: h, reply: `${this.ackInbox}.${token}` });
      } catch (err) {
        this.acks.delete(token);
        resolve({ ok: false, err });
      }
    });
  }

  /** True while ingest is behind on `feed` (a backlog, or no progress), as last polled. */
  behind(feed: Feed): boolean {
    return this.behindFeeds.has(feed);
  }

  /** Messages sent and not yet settled. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Publishes one record and resolves once it is settled (never rejects). */
  async send(item: ToSend): Promise<SendOutcome> {
    const route = parseFeedSubject(item.subject);
    if (!route) return { status: "refused", by: "cli", reason: "bad_subject", detail: `not sent: ${item.subject} is not a feed subject` };
    const subject = withPrefix(this.o.names, item.subject);
    const ack = await this.publish(subject, item.payload, item.msgId);
    if (!ack.ok) {
      const f = classifyPublishError(ack.err, subject);
      if (f.kind === "refused") return { status: "refused", by: "jetstream", reason: f.reason, detail: f.detail, msgId: item.msgId };
      return { status: "not_sent", by: "jetstream", detail: `${f.detail}: not known to be stored; send it again`, msgId: item.msgId };
    }
    const base = { stream: ack.stream, seq: ack.seq, msgId: item.msgId };
    if (ack.duplicate) return { status: "duplicate", by: "jetstream", detail: `JetStream already has Msg-Id ${item.msgId}`, ...base };
    const key = `${ack.stream}:${ack.seq}`;
    const heard = this.early.get(key);
    if (heard) {
      this.early.delete(key);
      return { status: "refused", by: "ingest", reason: heard.r.reason, detail: heard.r.detail, ...base };
    }
    return new Promise<SendOutcome>((resolve) => {
      const w: Waiting = { feed: route.feed, ...base, until: item.until ?? Date.now() + this.o.timeoutMs, resolve };
      this.waiting.set(key, w);
      let q = this.byFeed.get(route.feed);
      if (!q) this.byFeed.set(route.feed, (q = []));
      // Answers come nearly in stream order: insert from the end.
      let i = q.length;
      while (i > 0 && q[i - 1]!.seq > w.seq) i--;
      q.splice(i, 0, w);
      this.schedule(this.o.pollMs);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.ackSweep) clearInterval(this.ackSweep);
    this.sub?.unsubscribe();
    this.ackSub?.unsubscribe();
    for (const a of this.acks.values()) a.resolve({ ok: false, err: new Error("the door is shutting down") });
    this.acks.clear();
    for (const w of this.waiting.values())
      w.resolve({ status: "unsettled", by: "ingest", detail: "the door is shutting down", stream: w.stream, seq: w.seq, msgId: w.msgId });
    this.waiting.clear();
    this.byFeed.clear();
  }

  /** Takes a settled or expired message out of both indexes. */
  private forget(w: Waiting): void {
    this.waiting.delete(`${w.stream}:${w.seq}`);
    const q = this.byFeed.get(w.feed);
    const i = q ? q.indexOf(w) : -1;
    if (i >= 0) q!.splice(i, 1);
  }

  private onReject(r: Reject): void {
    const feed = parseFeedSubject(withoutPrefix(this.o.names, r.subject))?.feed ?? parseFeedSubject(r.subject)?.feed;
    if (!feed) return;
    const key = `${feedStream(this.o.names, feed)}:${r.stream_seq}`;
    const w = this.waiting.get(key);
    if (w) {
      this.waiting.delete(key);
      w.resolve({ status: "refused", by: "ingest", reason: r.reason, detail: r.detail, stream: w.stream, seq: w.seq, msgId: w.msgId });
      return;
    }
    const now = Date.now();
    this.early.set(key, { r, at: now });
    if (this.early.size > 10_000)
      for (const [k, v] of this.early) if (now - v.at > 10_000 || this.early.size > 10_000) this.early.delete(k);
  }

  private schedule(ms: number): void {
    if (this.closed || this.polling) return; // the running poll schedules the next itself
    const at = Date.now() + ms;
    if (this.timer && at >= this.nextAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.nextAt = at;
    this.timer = setTimeout(() => void this.poll(), ms);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    this.polling = true;
    try {
      await this.pollOnce();
    } catch {
      // NATS or the database unreachable: the messages wait (and time out); the next poll retries.
    } finally {
      this.polling = false;
      this.schedule(this.waiting.size > 0 ? this.o.pollMs : this.o.idlePollMs);
    }
  }

  private async pollOnce(): Promise<void> {
    const now = Date.now();
    const floors = new Map<Feed, number>();
    const wanted = new Set([...this.byFeed].filter(([, q]) => q.length > 0).map(([f]) => f));
    // Every feed on an idle poll (for `behind`), only the awaited ones on a busy one, plus every
    // feed at least once a second.
    const all = wanted.size === 0 || now - this.lastFullPollAt >= this.o.idlePollMs;
    if (all) this.lastFullPollAt = now;
    await Promise.all(
      (all ? feeds : [...wanted]).map(async (feed) => {
        try {
          const info = await this.jsm!.consumers.info(feedStream(this.o.names, feed), consumerName(feed, this.o.names.consumerPrefix));
          floors.set(feed, info.ack_floor.stream_seq);
          if (this.judge(feed, { pending: info.num_pending, deliveredSeq: info.delivered.stream_seq }, now)) this.behindFeeds.add(feed);
          else this.behindFeeds.delete(feed);
        } catch {}
      }),
    );
    const past: Waiting[] = [];
    for (const [feed, q] of this.byFeed) {
      const floor = floors.get(feed) ?? 0;
      let n = 0;
      for (const w of q) {
        if (w.seq > floor) break;
        n++;
        if (!this.waiting.has(`${w.stream}:${w.seq}`)) continue; // settled by a reject already
        if (this.o.db) past.push(w);
        else if (now - (w.floorSeenAt ??= now) >= graceWithoutDbMs) past.push(w);
        else {
          n--;
          break;
        }
      }
      if (n > 0) q.splice(0, n);
    }
    // Deadlines: a full walk at most every 250 ms.
    if (now - this.lastExpiryScan >= 250) {
      this.lastExpiryScan = now;
      const passed = new Set(past);
      for (const w of this.waiting.values()) {
        if (now <= w.until || passed.has(w)) continue;
        this.forget(w);
        w.resolve({
          status: "unsettled",
          by: "ingest",
          detail: `stored by JetStream (stream ${w.stream} sequence ${w.seq}) but not judged by ingest in time: it will be; send it again later to learn its verdict (it is kept once)`,
          stream: w.stream,
          seq: w.seq,
          msgId: w.msgId,
        });
      }
    }
    if (past.length === 0) return;
    const letters = new Map<string, { id: number; reason: string; detail: string }>();
    if (this.o.db) {
      for (const stream of new Set(past.map((w) => w.stream))) {
        const found = await deadLettersFor(
          this.o.db.db,
          stream,
          past.filter((w) => w.stream === stream).map((w) => w.seq),
        );
        for (const [seq, d] of found) letters.set(`${stream}:${seq}`, d);
      }
    }
    for (const w of past) {
      const key = `${w.stream}:${w.seq}`;
      if (!this.waiting.has(key)) continue;
      this.waiting.delete(key);
      const d = letters.get(key);
      const base = { stream: w.stream, seq: w.seq, msgId: w.msgId };
      if (d) w.resolve({ status: "refused", by: "ingest", reason: d.reason as Reason, detail: d.detail, deadLetterId: d.id, ...base });
      else w.resolve({ status: "accepted", by: "ingest", ...base });
    }
  }
}
