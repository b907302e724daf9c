import { createInbox, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { boundedMemo } from "@pulse/contracts";
import { AckWriter } from "./ack-writer";

/** One message delivered by a pull consumer, with what its ack subject tells. */
export interface PulledMsg {
  subject: string;
  data: Uint8Array;
  /** Position in the stream. */
  streamSeq: number;
  /** 1 on first delivery. */
  deliveryCount: number;
  /** The broker's receipt time (epoch ms): the same on every redelivery. */
  timestampMs: number;
  /** When this process received it (epoch ms). */
  pulledAt: number;
  ack(): void;
  term(): void;
  /** Resets the ack timer (in progress): held messages are not redelivered, no attempt is burned. */
  working(): void;
  /** Hands the message back for redelivery now. */
  nak(): void;
}

export interface PullerOptions {
  stream: string;
  consumer: string;
  /** Largest batch. Default 1,000. */
  batchSize?: number;
  /** How long a batch waits for more after its first message, in ms. Default 20. */
  lingerMs?: number;
  /** Server-side expiry of one pull request, in ms. Default 1,000. */
  requestExpiresMs?: number;
  /** Ack wait of the consumer, in ms: held messages are marked in progress well before it. Default 30,000. */
  ackWaitMs?: number;
  /**
   * Payload bytes this puller may hold (queued and in a batch), whatever the messages' size.
   * Default 64 MiB. A request may overshoot it by one server max payload, so that a message as
   * large as the server allows always gets through; and in the 50 ms in which a request overlaps
   * its successor (see `request`), messages the broker frees in that window may fill both, so the
   * worst case is about twice the budget, as for the count.
   */
  maxHeldBytes?: number;
}

/** The most a request may ever need to allow: nats-server's hard limit on max_payload, and room for a subject and headers. */
const anyMessage = 64 * 1024 * 1024 + 64 * 1024;

// $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<tm>.<pending> (9 tokens), or with
// domain and account hash before the stream (12 tokens, newer servers). Read by finding the dots
// rather than splitting: no array of nine strings per delivered message.
export function parseAckSubject(reply: string): { deliveryCount: number; streamSeq: number; timestampMs: number } | null {
  if (!reply.startsWith("$JS.ACK.")) return null;
  let dots = 0;
  for (let i = reply.indexOf("."); i >= 0; i = reply.indexOf(".", i + 1)) dots++;
  const at = dots === 8 ? 4 : dots >= 11 ? 6 : -1;
  if (at < 0) return null;
  // The dot before token `at` (the delivery count), then the next three.
  let d = -1;
  for (let k = 0; k < at; k++) d = reply.indexOf(".", d + 1);
  const d1 = reply.indexOf(".", d + 1),
    d2 = reply.indexOf(".", d1 + 1),
    d3 = reply.indexOf(".", d2 + 1),
    d4 = reply.indexOf(".", d3 + 1);
  const ns = reply.slice(d3 + 1, d4 < 0 ? reply.length : d4);
  return {
    deliveryCount: Number(reply.slice(d + 1, d1)),
    streamSeq: Number(reply.slice(d1 + 1, d2)),
    // Nanoseconds to milliseconds by dropping six digits: exact, and no BigInt per message.
    timestampMs: ns.length > 6 ? Number(ns.slice(0, -6)) : 0,
  };
}

/**
 * A delivered message. A class rather than an object of closures: ingest makes one per event,
 * and four closures each (named by the TypeScript loader) were a measurable share of its CPU.
 * It keeps what it reads from the library's message, not the message itself (nor its headers,
 * which ingest never reads): deliveries live for a batch's whole transaction, so every object
 * one holds on to is copied by each young-generation collection meanwhile, about 5 % of
 * ingest's throughput.
 */
class Delivery implements PulledMsg {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly streamSeq: number;
  readonly deliveryCount: number;
  readonly timestampMs: number;
  pulledAt: number;

  constructor(
    private readonly acks: AckWriter,
    subject: string,
    msg: Msg,
    private readonly reply: string,
    info: { deliveryCount: number; streamSeq: number; timestampMs: number },
  ) {
    this.subject = subject;
    this.data = msg.data;
    this.streamSeq = info.streamSeq;
    this.deliveryCount = info.deliveryCount;
    this.timestampMs = info.timestampMs;
    this.pulledAt = Date.now();
  }

  ack(): void {
    this.acks.send(this.reply, "+ACK");
  }

  // Plain +TERM: nats-server 2.9 ignores "+TERM <reason>" (a 2.10 addition) and the message
  // would stay pending. The reason lives in our dead-letter row instead.
  term(): void {
    this.acks.send(this.reply, "+TERM");
  }

  working(): void {
    this.acks.send(this.reply, "+WPI");
  }

  nak(): void {
    this.acks.send(this.reply, "-NAK");
  }
}

/**
 * A pull consumer client that holds at most two batches in reserve (and at most `maxHeldBytes` of
 * payload: large messages make smaller batches, not a larger heap), and can pause: while paused it
 * asks for nothing more, and keeps every message it holds alive with "in progress" so that an
 * outage of the database burns no delivery attempt. (The library's `consume()` keeps pulling
 * whatever the caller does with the messages, which is what we must not do in an outage.)
 */
export class Puller {
  private readonly nc: NatsConnection;
  private readonly acks: AckWriter;
  private readonly opts: Required<PullerOptions>;
  /**
   * Each pull request gets its own reply subject under this prefix: `<prefix>.<generation>`. Under
   * the connection's own inbox prefix: with permissions, a user may subscribe only to its own.
   */
  private readonly inboxPrefix: string;
  /** Counts pull requests; the current one replies to `<prefix>.<generation>`. */
  private generation = 0;
  private sub: Subscription | null = null;
  private readonly queue: PulledMsg[] = [];
  /**
   * One string per distinct subject (a stream has a handful): the client decodes a new one for
   * every message, and a held delivery would keep it alive through each collection.
   */
  private readonly sameSubject = boundedMemo((subject: string) => subject);
  /** Messages taken in a batch and not yet settled. */
  private readonly inFlight = new Set<PulledMsg>();
  /** Payload bytes of the queued and in-flight messages. */
  private bytes = 0;
  /** Messages the current request has delivered. */
  private requestGot = 0;
  /**
   * The broker refused to deliver the next message within the last request's max_bytes, and that
   * request got nothing: it is larger than the room left (a message stored under a larger
   * max_payload than the server has now). Ask again only once something settles, and then, with
   * nothing held, for as much as any message can be.
   */
  private tooBig = false;
  private requestOpen = false;
  private requestLeft = 0;
  private requestTimer: NodeJS.Timeout | null = null;
  private keepAlive: NodeJS.Timeout | null = null;
  /** Callers of nextBatch waiting for messages (several workers may share one puller). */
  private readonly waiters = new Set<() => void>();
  private paused = false;
  private closed = false;

  constructor(nc: NatsConnection, options: PullerOptions) {
    this.nc = nc;
    this.inboxPrefix = createInbox((nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
    this.acks = new AckWriter(nc);
    this.opts = {
      batchSize: 1_000,
      lingerMs: 20,
      requestExpiresMs: 1_000,
      ackWaitMs: 30_000,
      maxHeldBytes: 64 * 1024 * 1024,
      ...options,
    };
  }

  start(): void {
    this.sub = this.nc.subscribe(`${this.inboxPrefix}.*`, { callback: (err, msg) => (err ? undefined : this.onMsg(msg)) });
    this.keepAlive = setInterval(() => this.touchHeld(), Math.max(250, Math.floor(this.opts.ackWaitMs / 3)));
    this.keepAlive.unref();
    this.request();
  }

  /** Stop asking for messages (the database is gone); held ones are kept alive. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.request();
  }

  /** Messages this process holds: queued and in a batch being applied. */
  get held(): number {
    return this.queue.length + this.inFlight.size;
  }

  /** Payload bytes of the messages this process holds. */
  get heldBytes(): number {
    return this.bytes;
  }

  /**
   * The next batch: waits for a first message (at most `maxWaitMs`), then up to `lingerMs` for
   * more, and returns at most `batchSize`. Empty when nothing came or the puller closed.
   */
  async nextBatch(maxWaitMs = 1_000): Promise<PulledMsg[]> {
    if (this.queue.length === 0) await this.waitForMessages(maxWaitMs);
    if (this.queue.length === 0 || this.closed) return [];
    if (this.queue.length < this.opts.batchSize) {
      const until = Date.now() + this.opts.lingerMs;
      while (this.queue.length < this.opts.batchSize && !this.closed) {
        const left = until - Date.now();
        if (left <= 0) break;
        await this.waitForMessages(left);
      }
    }
    const batch = this.queue.splice(0, this.opts.batchSize);
    for (const m of batch) this.inFlight.add(m);
    this.request();
    return batch;
  }

  /** Marks messages settled (acked or terminated): they need no more keep-alive. */
  settled(msgs: Iterable<PulledMsg>): void {
    // Their acknowledgements go out now, in one write, ahead of the next pull request.
    this.acks.flush();
    for (const m of msgs) if (this.inFlight.delete(m)) this.bytes -= m.data.length;
    this.request();
  }

  /**
   * Hands messages of a batch back for redelivery now, unapplied (shutting down with a batch the
   * database never took), and marks them settled here.
   */
  giveBack(msgs: Iterable<PulledMsg>): void {
    for (const m of msgs) {
      if (this.inFlight.delete(m)) this.bytes -= m.data.length;
      nakNow(m);
    }
    this.acks.flush();
    // The room they took is free again: a request held back for want of it may go now.
    this.request();
  }

  /** Stops asking; returns messages still queued (not yet handed out), unsettled. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.keepAlive) clearInterval(this.keepAlive);
    if (this.requestTimer) clearTimeout(this.requestTimer);
    this.wakeAll();
    this.sub?.unsubscribe();
    this.sub = null;
    // Queued messages were never applied: hand them back now rather than after the ack wait.
    for (const m of this.queue.splice(0)) {
      this.bytes -= m.data.length;
      nakNow(m);
    }
    this.acks.flush();
  }

  private waitForMessages(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t);
        this.waiters.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }

  private wakeAll(): void {
    if (this.waiters.size === 0) return;
    for (const wake of [...this.waiters]) wake();
  }

  private request(): void {
    if (this.closed || this.paused || this.requestOpen || this.nc.isClosed()) return;
    // At most two batches queued beside the one being applied: bounded memory, a full batch
    // ready the moment the last one commits, and never a trickle of tiny requests (each costs a
    // round trip) — a request waits until half a batch of room is free.
    const want = 2 * this.opts.batchSize - this.queue.length;
    if (want < Math.ceil(this.opts.batchSize / 2)) return;
    // The byte budget: the server stops a request at max_bytes (and answers 409 for a message
    // that would pass it). A request always allows one message of the server's max payload, so
    // that none can be stuck; when that much room is not left, wait for a batch to settle.
    const largest = this.tooBig ? anyMessage : (this.nc.info?.max_payload ?? 1024 * 1024) + 64 * 1024;
    const room = this.opts.maxHeldBytes - this.bytes;
    if (this.bytes > 0 && (room < largest || this.tooBig)) return;
    this.requestOpen = true;
    this.requestLeft = want;
    this.requestGot = 0;
    this.generation += 1;
    const body = JSON.stringify({ batch: want, max_bytes: Math.max(room, largest), expires: this.opts.requestExpiresMs * 1_000_000 });
    try {
      this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${this.opts.stream}.${this.opts.consumer}`, body, {
        reply: this.replySubject(this.generation),
      });
    } catch {
      this.requestOpen = false;
      return;
    }
    // Reopen the tap just before the server lets this request expire. nats-server 2.9 sends no
    // 408 for a request that got some but not all of its messages, so waiting for one would
    // leave nothing asked for until a fallback timer: that gap was the p99 latency. A message
    // the old request still delivers in its last milliseconds is simply queued, and its 408
    // (sent for a request that got nothing) is ignored as no longer current (see onMsg).
    this.requestTimer = setTimeout(() => this.endRequest(), Math.max(50, this.opts.requestExpiresMs - 50));
  }

  private replySubject(generation: number): string {
    return `${this.inboxPrefix}.${generation}`;
  }

  private endRequest(): void {
    if (this.requestTimer) clearTimeout(this.requestTimer);
    this.requestTimer = null;
    this.requestOpen = false;
    this.request();
  }

  private onMsg(msg: Msg): void {
    const info = msg.reply ? parseAckSubject(msg.reply) : null;
    if (!info) {
      // A status message: 404/408 end the request, 409 too (consumer gone, leadership change),
      // 100 is an idle heartbeat. It comes on the reply subject of the request it is about: one
      // for a request already replaced (the timer reopened before the server's 408 came) must
      // not end the current one, or each expiry would open one more request and they would
      // pile up on the server, each holding messages for this process.
      if (msg.subject !== this.replySubject(this.generation) || !this.requestOpen) return;
      const code = msg.headers?.code ?? 0;
      if (code === 100) return;
      // 409 "Message Size Exceeds MaxBytes" for a request that got nothing: the next message does
      // not fit the room asked for. Asking again at once would get the same answer, thousands of
      // times a second; wait for a batch to settle (see `tooBig`).
      if (code === 409 && this.requestGot === 0 && /MaxBytes/i.test(msg.headers?.description ?? "")) this.tooBig = true;
      this.endRequest();
      return;
    }
    const pulled = new Delivery(this.acks, this.sameSubject(msg.subject), msg, msg.reply!, info);
    this.queue.push(pulled);
    this.bytes += pulled.data.length;
    this.tooBig = false;
    this.requestGot += 1;
    this.requestLeft -= 1;
    if (this.requestLeft <= 0) this.endRequest();
    this.wakeAll();
  }

  private touchHeld(): void {
    if (this.nc.isClosed()) return;
    const stale = Date.now() - Math.floor(this.opts.ackWaitMs / 3);
    for (const m of [...this.queue, ...this.inFlight]) {
      if (m.pulledAt < stale) {
        try {
          m.working();
        } catch {
          /* connection closing: the broker will redeliver */
        }
        m.pulledAt = Date.now();
      }
    }
    this.acks.flush();
  }
}

function nakNow(m: PulledMsg): void {
  try {
    m.nak();
  } catch {
    /* connection closing: the broker redelivers after the ack wait */
  }
}
