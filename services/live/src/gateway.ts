import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "@pulse/config";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import type { LiveConfig } from "./config";
import type { LiveFeed } from "./live-feed";
import { entryId, entryJson, type LiveState, type RingItem, type StateEntry } from "./live-state";
import type { LiveMetricsSet } from "./live-metrics";
import { closeCodes, errorCodes, isDerived, parseRequest, type ErrorCode, type Subscription } from "./protocol";
import { deflatedFrame, deflateServerOptions, sharesDeflate, socketOf, writeFrame } from "./shared-deflate";
import type { LiveKey, LiveValue } from "@pulse/contracts";

/** Why heartbeats say the data is behind. */
export type BehindReason = "loading" | "nats" | "database" | "relay" | "stream";

export interface GatewayOptions {
  config: Readonly<LiveConfig>;
  state: LiveState;
  feed: LiveFeed;
  metrics: LiveMetricsSet;
  log: Logger;
  /** What is behind now (empty when all is well). */
  behind: () => readonly BehindReason[];
  /** Called at the start of each tick, before the changed keys are taken (the derived topics are judged there). */
  beforeTick: (now: number) => void;
  /** The server's time (epoch ms) that heartbeats carry: the same clock as "today" and freshness. Default Date.now. */
  clock?: () => number;
  /** The hash of /config.json now (the map in force on the clock's day); heartbeats carry it. */
  configHash?: () => string;
}

interface Client {
  ws: WebSocket;
  subs: Map<string, Subscription>;
  /** Subscriptions being answered (a resume may read the stream). */
  opening: number;
  /** Their ids: a burst of subscribes under one id (each replacing the last) is one subscription, not many. */
  openingIds: Map<string, number>;
  /** Group key: the sorted signatures of its subscriptions. */
  group: string;
  /** Entries held back while the socket is behind (one per key: the latest value goes when it catches up). */
  held: Set<StateEntry> | null;
  slowSince: number;
  /** Skip entries at or below this sequence (a `since` ahead of this gateway). */
  floor: number;
  /**
   * Everything up to this sequence that concerns the client has been handed to its socket. 0
   * until a subscription is answered: a heartbeat between the socket's opening and its first
   * answer must not name a sequence past the `since` the client is about to send.
   */
  sentSeq: number;
  /** A subscription of this socket has been answered (snapshot or resumed). */
  answered: boolean;
  alive: boolean;
  /** When the outstanding lag probe (a ping) went out; 0 when none is out. */
  probeAt: number;
  /** When the last probe's pong came back. */
  probedAt: number;
  errors: number;
  closed: boolean;
  /** Its permessage-deflate agreement lets it take the frames compressed once for many (shared-deflate.ts). */
  deflate: boolean;
}

const maxErrorsPerSocket = 50;
/** A frame sent to one socket only is compressed (when the socket takes it) from this size on. */
const deflateOwnFrom = 4_096;
/** Milliseconds of subscription answers per turn of the event loop. */
const answerBudgetMs = 5;

function valueMatches(sub: Subscription, key: LiveKey, value: LiveValue | undefined): boolean {
  for (const [field, allowed] of sub.filter) {
    const k = key[field];
    if (k !== undefined) {
      if (!allowed.has(k)) return false;
      continue;
    }
    // A field the key lacks may be in the value (a station's area, tech, status).
    if (!value || typeof value !== "object") return false;
    const v = value[field];
    if (v === undefined || v === null || !allowed.has(String(v))) return false;
  }
  return true;
}

/** Does `sub` want this entry now, or did it want it before its last change (so it sees the key leave)? */
export function wants(sub: Subscription, e: StateEntry): boolean {
  if (!sub.topics.has(e.metric)) return false;
  if (sub.filter.length === 0) return true;
  return valueMatches(sub, e.key, e.value) || (e.prev !== undefined && valueMatches(sub, e.key, e.prev));
}

interface TickTotals {
  frames: number;
  bytes: number;
}

/** A group's delta for one tick, made once: as text, and compressed once for the sockets that take it. */
interface GroupFrame {
  seq: number;
  frame: Buffer | null;
  deflated: Buffer | null;
  totals: TickTotals;
}

const deltaFrame = (seq: number, jsons: string[]) => `{"type":"delta","seq":${seq},"entries":[${jsons.join(",")}]}`;

/**
 * The WebSocket side: sockets, subscriptions, the tick that coalesces changes into one frame per
 * client, heartbeats, pings, slow readers, resumes. Clients with the same subscriptions form a
 * group that shares one frame per tick (made and encoded once); a client that is behind, or
 * resumed ahead of this gateway, leaves its group's fast path until it catches up.
 */
export class Gateway {
  readonly wss: WebSocketServer;
  private readonly clients = new Set<Client>();
  private readonly groups = new Map<string, Set<Client>>();
  private tickTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private pingTimer: NodeJS.Timeout | null = null;
  private ready = false;
  private readyWaiters: (() => void)[] = [];
  /** Incremented at each load of the state: a resume that straddles one cannot be trusted. */
  private generation = 0;
  private closing = false;
  private readonly tokens: Buffer[] | null;
  /** Upgrade requests whose permessage-deflate agreement allows shared frames (from the `headers` event). */
  private readonly deflating = new WeakSet<IncomingMessage>();
  /** Subscriptions waiting for their answer (inTurn). */
  private readonly answers: (() => void)[] = [];

  constructor(private readonly o: GatewayOptions) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: o.config.maxPayload,
      clientTracking: false,
      perMessageDeflate: o.config.deflate ? deflateServerOptions : false,
    });
    this.wss.on("headers", (headers, req) => {
      if (sharesDeflate(headers)) this.deflating.add(req);
    });
    this.tokens = o.config.tokens ? o.config.tokens.map((t) => Buffer.from(t)) : null;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  start(): void {
    // At a fixed rate: the next tick is due tickMs after this one began, not after it ended (a
    // tick that takes 30 ms must not make the period 130 ms); one that overran runs at once.
    const every = this.o.config.tickMs;
    let due = performance.now() + every;
    const tick = () => {
      try {
        this.tick();
      } catch (err) {
        this.o.log.error("tick failed", { error: (err as Error).message });
      }
      const now = performance.now();
      due = Math.max(due + every, now);
      if (!this.closing) this.tickTimer = setTimeout(tick, due - now);
    };
    this.tickTimer = setTimeout(tick, every);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.o.config.heartbeatMs);
    this.pingTimer = setInterval(() => this.ping(), this.o.config.pingMs);
  }

  /** The state was read from Postgres: answer waiting subscriptions; after a gap, reset every client. */
  loaded(reason: "start" | "gap"): void {
    this.generation++;
    this.ready = true;
    for (const w of this.readyWaiters.splice(0)) w();
    if (reason !== "gap") return;
    for (const c of this.clients) {
      c.held = null;
      c.floor = 0;
      for (const sub of c.subs.values()) this.sendSnapshot(c, sub, true);
    }
  }

  private whenReady(): Promise<void> {
    return this.ready ? Promise.resolve() : new Promise((r) => this.readyWaiters.push(r));
  }

  /** Handles an HTTP upgrade on /live: origin and token first, then the socket. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const refuse = (code: number, reason: string, label: string) =>
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.o.metrics.rejected.inc({ reason: label });
        ws.close(code, reason);
      });
    const origin = req.headers.origin;
    if (this.o.config.origins && origin !== undefined && !this.o.config.origins.includes(origin)) {
      return refuse(closeCodes.forbiddenOrigin, "origin not allowed", "origin");
    }
    if (this.tokens && !this.tokenOk(req)) return refuse(closeCodes.unauthorized, "unauthorized", "unauthorized");
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, this.deflating.has(req)));
  }

  private tokenOk(req: IncomingMessage): boolean {
    let token: string | null = null;
    const auth = req.headers.authorization;
    if (auth && /^Bearer\s+/i.test(auth)) token = auth.replace(/^Bearer\s+/i, "").trim();
    if (!token) token = new URL(req.url ?? "/", "http://x").searchParams.get("token");
    if (!token) return false;
    const given = Buffer.from(token);
    let ok = false;
    for (const t of this.tokens!) if (t.length === given.length && timingSafeEqual(t, given)) ok = true;
    return ok;
  }

  private accept(ws: WebSocket, deflate: boolean): void {
    const c: Client = {
      ws,
      subs: new Map(),
      opening: 0,
      openingIds: new Map(),
      group: "",
      held: null,
      slowSince: 0,
      floor: 0,
      sentSeq: 0,
      answered: false,
      alive: true,
      probeAt: 0,
      probedAt: 0,
      errors: 0,
      closed: false,
      deflate,
    };
    this.clients.add(c);
    this.o.metrics.clients.set(this.clients.size);
    ws.on("pong", () => {
      c.alive = true;
      if (c.probeAt !== 0) {
        c.probeAt = 0;
        c.probedAt = Date.now();
      }
    });
    ws.on("message", (data: RawData, isBinary: boolean) => {
      c.alive = true;
      const text = isBinary ? null : Array.isArray(data) ? Buffer.concat(data).toString() : data.toString();
      if (text === null) return this.error(c, errorCodes.badJson, "frames are JSON text, not binary");
      void this.onRequest(c, text);
    });
    ws.on("close", () => this.drop(c));
    ws.on("error", () => this.drop(c));
  }

  private drop(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    this.clients.delete(c);
    this.leaveGroup(c);
    c.held = null;
    this.o.metrics.clients.set(this.clients.size);
  }

  private leaveGroup(c: Client): void {
    if (!c.group) return;
    const g = this.groups.get(c.group);
    g?.delete(c);
    if (g && g.size === 0) this.groups.delete(c.group);
    c.group = "";
  }

  private regroup(c: Client): void {
    this.leaveGroup(c);
    if (c.subs.size === 0 || c.closed) return;
    const key = [...c.subs.values()]
      .map((s) => s.signature)
      .sort()
      .join("\n");
    let g = this.groups.get(key);
    if (!g) this.groups.set(key, (g = new Set()));
    g.add(c);
    c.group = key;
  }

  private send(c: Client, text: string, type: string): void {
    if (c.closed || c.ws.readyState !== WebSocket.OPEN) return;
    this.o.metrics.frames.inc({ type });
    this.o.metrics.bytes.inc(this.write(c, text));
  }

  /**
   * One frame to one socket; returns the bytes written. Compressed when the socket takes shared
   * frames and `deflated` gives one (by default: this frame alone, from `deflateOwnFrom` bytes), else
   * plain through ws.
   */
  private write(c: Client, text: string | Buffer, deflated = () => (text.length >= deflateOwnFrom ? deflatedFrame(text) : null)): number {
    const z = c.deflate ? deflated() : null;
    if (z && writeFrame(c.ws, z)) return z.length;
    c.ws.send(text, { binary: false, compress: false });
    return typeof text === "string" ? Buffer.byteLength(text) : text.length;
  }

  private error(c: Client, code: ErrorCode, message: string): void {
    this.o.metrics.rejected.inc({ reason: code });
    this.send(c, JSON.stringify({ type: "error", code, message }), "error");
    if (++c.errors > maxErrorsPerSocket) c.ws.close(closeCodes.policy, "too many bad frames");
  }

  private async onRequest(c: Client, text: string): Promise<void> {
    const r = parseRequest(text);
    if (r.op === "error") return this.error(c, r.code, r.message);
    if (r.op === "unsubscribe") {
      if (!c.subs.delete(r.id)) return this.error(c, errorCodes.unknownSubscription, `no subscription ${JSON.stringify(r.id)}`);
      this.regroup(c);
      return;
    }
    const { sub, since } = r;
    const newIdsInFlight = [...c.openingIds.keys()].filter((id) => !c.subs.has(id)).length;
    if (!c.subs.has(sub.id) && !c.openingIds.has(sub.id) && c.subs.size + newIdsInFlight >= this.o.config.maxSubscriptions) {
      return this.error(c, errorCodes.tooManySubscriptions, `at most ${this.o.config.maxSubscriptions} subscriptions per socket`);
    }
    c.opening++;
    c.openingIds.set(sub.id, (c.openingIds.get(sub.id) ?? 0) + 1);
    try {
      await this.whenReady();
      if (c.closed) return;
      if (since === null) {
        await this.inTurn(() => this.sendSnapshot(c, sub, false));
      } else {
        await this.resume(c, sub, since);
      }
    } catch (err) {
      this.o.log.warn("subscription failed", { error: (err as Error).message });
      if (!c.closed) this.sendSnapshot(c, sub, since !== null);
    } finally {
      c.opening--;
      const left = c.openingIds.get(sub.id)! - 1;
      if (left > 0) c.openingIds.set(sub.id, left);
      else c.openingIds.delete(sub.id);
    }
  }

  /**
   * Runs `answer` in its turn: subscriptions are answered a few milliseconds' worth at a time, so
   * that a burst of them (a thousand on one socket, every wall reconnecting at once) does not hold
   * up the ticks that the clients already served are waiting for.
   */
  private inTurn(answer: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.answers.push(() => {
        try {
          answer();
          resolve();
        } catch (err) {
          reject(err as Error);
        }
      });
      if (this.answers.length === 1) setImmediate(() => this.answerSome());
    });
  }

  private answerSome(): void {
    const until = performance.now() + answerBudgetMs;
    let done = 0;
    while (done < this.answers.length && (done === 0 || performance.now() < until)) this.answers[done++]!();
    this.answers.splice(0, done);
    // setImmediate: the loop's timers (a tick that is due) run before the next turn.
    if (this.answers.length > 0) setImmediate(() => this.answerSome());
  }

  /** The current value of every key `sub` covers, then the subscription is live (no await in between). */
  private sendSnapshot(c: Client, sub: Subscription, reset: boolean): void {
    const state = this.o.state;
    const jsons: string[] = [];
    for (const topic of sub.topics) {
      const m = state.byMetric.get(topic);
      if (!m) continue;
      const derived = isDerived(topic);
      for (const e of m.values()) {
        // A key the log set to null (a station removed) has no current value: not in a snapshot.
        if (e.value === null && !derived) continue;
        if (sub.filter.length > 0 && !valueMatches(sub, e.key, e.value)) continue;
        jsons.push(entryJson(e));
      }
    }
    const seq = Math.max(state.seq, c.floor);
    const head = `{"type":"snapshot","id":${JSON.stringify(sub.id)},"seq":${seq},${reset ? `"reset":true,` : ""}"entries":[`;
    this.send(c, `${head}${jsons.join(",")}]}`, "snapshot");
    if (reset) this.o.metrics.resumes.inc({ result: "reset" });
    c.subs.set(sub.id, sub);
    c.answered = true;
    this.regroup(c);
  }

  /**
   * A `since`: exactly the changes after it (from the ring, or read from the stream when older),
   * or a reset snapshot when LIVE no longer holds them all. A `since` ahead of this gateway (from
   * a faster one) gets only what comes after it, once the stream proves it exists.
   */
  private async resume(c: Client, sub: Subscription, since: number): Promise<void> {
    const state = this.o.state;
    const gen = this.generation;
    if (since > state.seq) {
      const { last } = await this.o.feed.bounds();
      if (c.closed) return;
      if (since > last || gen !== this.generation) return this.sendSnapshot(c, sub, true);
      c.floor = Math.max(c.floor, since);
      c.held ??= new Set();
      return this.resumed(c, sub, since, []);
    }
    let items = state.ringAfter(since);
    if (items === null) {
      const upTo = Number.isFinite(state.ringFirst) ? state.ringFirst - 1 : state.seq;
      const old = await this.o.feed.read(since, upTo);
      if (c.closed) return;
      const lastRead = old && old.length > 0 ? old[old.length - 1]!.seq : since;
      const rest = old && gen === this.generation ? state.ringAfter(lastRead) : null;
      if (!old || !rest) return this.sendSnapshot(c, sub, true);
      items = [...old, ...rest];
    }
    this.resumed(c, sub, since, items);
  }

  /** Sends `resumed`, then one delta with the latest value of each key the items changed (and the derived topics' current values). */
  private resumed(c: Client, sub: Subscription, since: number, items: RingItem[]): void {
    const state = this.o.state;
    const latest = new Map<string, { metric: string; key: LiveKey; value: LiveValue; version: number; wanted: boolean }>();
    for (const it of items) {
      if (!sub.topics.has(it.change.metric)) continue;
      for (const e of it.change.entries) {
        const id = entryId(it.change.metric, e.key);
        const wanted = sub.filter.length === 0 || valueMatches(sub, e.key, e.value);
        const cur = latest.get(id);
        if (!cur) latest.set(id, { metric: it.change.metric, key: e.key, value: e.value, version: it.change.change_id, wanted });
        else if (it.change.change_id >= cur.version) {
          cur.value = e.value;
          cur.version = it.change.change_id;
          cur.wanted ||= wanted;
        } else cur.wanted ||= wanted;
      }
    }
    const jsons: string[] = [];
    for (const l of latest.values()) {
      if (!l.wanted) continue;
      jsons.push(
        `{"metric":${JSON.stringify(l.metric)},"key":${JSON.stringify(l.key)},"value":${JSON.stringify(l.value)},"version":${l.version}}`,
      );
    }
    for (const topic of sub.topics) {
      if (!isDerived(topic)) continue;
      for (const e of state.byMetric.get(topic)?.values() ?? []) if (valueMatches(sub, e.key, e.value)) jsons.push(entryJson(e));
    }
    this.send(c, JSON.stringify({ type: "resumed", id: sub.id, seq: since }), "resumed");
    this.o.metrics.resumes.inc({ result: "resumed" });
    const seq = Math.max(state.seq, c.floor);
    if (jsons.length > 0) this.send(c, deltaFrame(seq, jsons), "delta");
    c.subs.set(sub.id, sub);
    c.answered = true;
    this.regroup(c);
  }

  /** One tick: every changed key, to every client that wants it, one frame per client. */
  tick(now = Date.now()): void {
    this.o.beforeTick(now);
    const state = this.o.state;
    const { entries } = state.takeDirty();
    const seq = state.seq;
    for (const e of entries) if (e.at > 0) this.o.metrics.lag.observe(Math.max(0, now - e.at) / 1000);
    const t: TickTotals = { frames: 0, bytes: 0 };
    for (const group of this.groups.values()) {
      let matched: StateEntry[] | null = null;
      const g: GroupFrame = { seq, frame: null, deflated: null, totals: t };
      for (const c of group) {
        if (c.closed) continue;
        if (matched === null) {
          const subs = [...c.subs.values()];
          matched = entries.length === 0 ? [] : entries.filter((e) => subs.some((s) => wants(s, e)));
        }
        // One write per socket per tick: the probe's ping goes out with the frame.
        const socket = socketOf(c.ws);
        socket?.cork();
        this.tickClient(c, g, matched, now);
        socket?.uncork();
      }
    }
    for (const c of this.clients) {
      if (c.answered && c.subs.size === 0 && c.held === null && c.opening === 0) c.sentSeq = Math.max(seq, c.floor);
    }
    if (t.frames > 0) {
      this.o.metrics.frames.inc({ type: "delta" }, t.frames);
      this.o.metrics.bytes.inc(t.bytes);
    }
  }

  /** One client's part of a tick: its group's frame, or what it missed once it catches up, or nothing while it is behind. */
  private tickClient(c: Client, g: GroupFrame, matched: StateEntry[], now: number): void {
    const cfg = this.o.config;
    const seq = g.seq;
    const buffered = c.ws.bufferedAmount;
    if (buffered > cfg.maxBufferedBytes) {
      this.slowClose(c);
      return;
    }
    // The lag probe: a ping queued behind what the socket already has (in this process and
    // in the kernel's buffers, which bufferedAmount does not see) comes back only when the
    // client has read all of it. Unanswered for longer than lagMs, the link is full: hold.
    if (c.probeAt === 0 && now - c.probedAt >= cfg.probeMs) {
      c.probeAt = now;
      c.ws.ping();
    }
    const lagging = c.probeAt !== 0 && now - c.probeAt > cfg.lagMs;
    if (c.held !== null || c.floor > 0 || lagging || buffered > cfg.slowBytes) {
      const held = (c.held ??= new Set());
      for (const e of matched) if (e.seq === 0 || e.seq > c.floor) held.add(e);
      if (buffered > cfg.slowBytes) {
        if (c.slowSince === 0) c.slowSince = now;
        else if (now - c.slowSince > cfg.slowMs) this.slowClose(c);
        return;
      }
      c.slowSince = 0;
      // A full link (few bytes queued here, many in the kernel) is held, and closed only once
      // its probe has gone unanswered past the same bound.
      if (lagging) {
        if (now - c.probeAt > cfg.slowMs) this.slowClose(c);
        return;
      }
      // Caught up: the latest value of every key it missed, in one frame.
      const s = Math.max(seq, c.floor);
      if (held.size > 0) {
        g.totals.bytes += this.write(c, deltaFrame(s, [...held].map(entryJson)));
        g.totals.frames++;
      }
      c.held = null;
      if (c.opening === 0) c.sentSeq = s;
      if (c.floor <= seq) c.floor = 0;
      return;
    }
    if (matched.length > 0) {
      const frame = (g.frame ??= Buffer.from(deltaFrame(seq, matched.map(entryJson))));
      // Compressed once per group: the best ratio for a tick's usual frame, the fastest for a huge one.
      g.totals.bytes += this.write(c, frame, () =>
        frame.length < 256 ? null : (g.deflated ??= deflatedFrame(frame, frame.length <= 65_536 ? 6 : 1)),
      );
      g.totals.frames++;
    }
    // Not while a subscription is being answered: a heartbeat's seq must never pass the
    // changes a resume is still to send.
    if (c.opening === 0) c.sentSeq = seq;
  }

  private slowClose(c: Client): void {
    this.o.metrics.slowCloses.inc();
    c.held = null;
    c.ws.close(closeCodes.tryAgainLater, "too far behind: reconnect with since");
    // A socket that cannot take more bytes may not take the close frame either.
    setTimeout(() => c.ws.terminate(), 1_000).unref();
    this.drop(c);
  }

  heartbeat(): void {
    const behind = this.o.behind();
    const now = new Date((this.o.clock ?? Date.now)()).toISOString();
    const hash = this.o.configHash?.();
    const tail = `${hash ? `,"config":${JSON.stringify(hash)}` : ""}${behind.length > 0 ? `,"behind":true,"why":${JSON.stringify(behind)}}` : "}"}`;
    for (const c of this.clients) {
      if (c.ws.bufferedAmount > this.o.config.maxBufferedBytes) continue;
      this.send(c, `{"type":"heartbeat","now":"${now}","seq":${c.sentSeq}${tail}`, "heartbeat");
    }
  }

  private ping(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.ws.terminate();
        this.drop(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }

  /** Stops ticking and closes every socket with 1001. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.tickTimer) clearTimeout(this.tickTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    const sockets = [...this.clients].map((c) => c.ws);
    for (const ws of sockets) ws.close(closeCodes.goingAway, "server shutting down");
    await Promise.race([
      Promise.all(sockets.map((ws) => (ws.readyState === WebSocket.CLOSED ? null : new Promise((r) => ws.once("close", r))))),
      new Promise((r) => setTimeout(r, 1_000)),
    ]);
    for (const ws of sockets) ws.terminate();
    this.wss.close();
  }
}
