/**
 * The wall's side of the live protocol (docs/live-protocol.md): its subscriptions (one socket),
 * resumed with `since` after any break, reconnecting by itself for as long as the page is open.
 *
 * - A `snapshot` (first, or `reset: true` when the gateway cannot prove a gap complete) is handed
 *   over whole (`onSnapshot`, with the subscription's topics): the page replaces what it held for
 *   those topics at once.
 * - The link is live once every subscription got its snapshot or `resumed`.
 * - `resumed` means what follows are exactly the changes after our `since`: the held figures stay.
 * - The link counts as dead when no frame at all (heartbeats included) came for `silenceMs`: a
 *   half-open socket is closed from this side instead of being waited on.
 * - Backoff doubles from `minDelayMs` to `maxDelayMs`, with jitter so a room of screens does not
 *   reconnect in step after a gateway restart.
 *
 * WebSocket and the timers are injected so the same code runs in the browser and under Node.
 */

/**
 * @typedef {{ metric: string, key: Record<string, string>, value: unknown, version: number }} Entry
 * @typedef {"connecting" | "live" | "lost" | "denied"} LinkState
 * @typedef {{
 *   url: string,
 *   topics?: string[],
 *   subscriptions?: { id: string, topics: string[], filter?: Record<string, string|string[]> }[],
 *   WebSocket: any,
 *   onSnapshot: (entries: Entry[], info: { id: string, topics: string[], seq: number, reset: boolean }) => void,
 *   onDelta: (entries: Entry[], seq: number) => void,
 *   onResumed?: (seq: number) => void,
 *   onHeartbeat?: (now: string, behind: unknown, why: unknown, frame: { config?: unknown }) => void,
 *   onState?: (state: LinkState, detail?: { code?: number, reason?: string }) => void,
 *   onProtocolError?: (frame: { code?: string, message?: string }) => void,
 *   subscriptionId?: string,
 *   silenceMs?: number,
 *   minDelayMs?: number,
 *   maxDelayMs?: number,
 *   deniedDelayMs?: number,
 *   random?: () => number,
 *   setTimeout?: (fn: () => void, ms: number) => any,
 *   clearTimeout?: (t: any) => void,
 * }} LiveClientOptions
 */

/** Close codes after which retrying soon cannot help (wrong token, origin not allowed). */
const deniedCodes = new Set([4401, 4403]);

export class LiveClient {
  /** @param {LiveClientOptions} o */
  constructor(o) {
    this.o = o;
    /** @type {{ id: string, topics: string[], filter?: Record<string, string|string[]> }[]} */
    this.subs = o.subscriptions ?? [{ id: o.subscriptionId ?? "wall", topics: o.topics ?? [] }];
    /** Subscriptions of this socket still waiting for their snapshot or `resumed`. */
    this.pending = new Set();
    /** The highest LIVE sequence applied; what a reconnect asks to resume from. @type {number|null} */
    this.seq = null;
    /** @type {LinkState} */
    this.state = "connecting";
    this.attempt = 0;
    /** @type {any} */
    this.ws = null;
    /** @type {any} */
    this.retryTimer = null;
    /** @type {any} */
    this.silenceTimer = null;
    this.closed = false;
    /** Frames received in all (for tests and the page's diagnostics). */
    this.frames = 0;
    this.connects = 0;
    /** Snapshots applied, of which resets; resumes honoured. */
    this.snapshots = 0;
    this.resets = 0;
    this.resumes = 0;
    this.setT = o.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearT = o.clearTimeout ?? ((t) => clearTimeout(t));
  }

  start() {
    this.closed = false;
    this.connect();
    return this;
  }

  /** Stops for good: no reconnect. */
  close() {
    this.closed = true;
    this.clearT(this.retryTimer);
    this.clearT(this.silenceTimer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      detach(ws);
      try {
        ws.close(1000);
      } catch {}
    }
  }

  /** @param {LinkState} s @param {{ code?: number, reason?: string }} [detail] */
  setState(s, detail) {
    if (this.state === s && !detail) return;
    this.state = s;
    this.o.onState?.(s, detail);
  }

  connect() {
    if (this.closed) return;
    this.connects++;
    /** @type {any} */
    let ws;
    try {
      ws = new this.o.WebSocket(this.o.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.pending = new Set(this.subs.map((s) => s.id));
      for (const s of this.subs) {
        /** @type {Record<string, unknown>} */
        const sub = { op: "subscribe", id: s.id, topics: s.topics };
        if (s.filter) sub.filter = s.filter;
        if (this.seq !== null) sub.since = this.seq;
        ws.send(JSON.stringify(sub));
      }
      this.armSilence();
    };
    ws.onmessage = (/** @type {{ data: unknown }} */ ev) => {
      if (this.ws !== ws) return;
      this.frames++;
      this.armSilence();
      /** @type {any} */
      let f;
      try {
        f = JSON.parse(typeof ev.data === "string" ? ev.data : String(ev.data));
      } catch {
        return;
      }
      this.onFrame(f);
    };
    ws.onclose = (/** @type {{ code?: number, reason?: string }} */ ev) => {
      if (this.ws !== ws) return;
      this.dropped({ code: ev?.code, reason: ev?.reason });
    };
    ws.onerror = () => {
      // A close event follows; the retry is scheduled there.
    };
  }

  /** @param {any} f */
  onFrame(f) {
    if (!f || typeof f !== "object") return;
    switch (f.type) {
      case "snapshot": {
        const sub = this.subs.find((s) => s.id === f.id);
        if (!sub) return;
        const entries = Array.isArray(f.entries) ? f.entries : [];
        this.snapshots++;
        if (f.reset === true) this.resets++;
        this.o.onSnapshot(entries, { id: sub.id, topics: sub.topics, seq: Number(f.seq) || 0, reset: f.reset === true });
        if (Number.isFinite(Number(f.seq))) this.seq = Math.max(this.seq ?? 0, Number(f.seq));
        this.settled(sub.id);
        break;
      }
      case "resumed":
        if (!this.subs.some((s) => s.id === f.id)) return;
        this.resumes++;
        this.o.onResumed?.(Number(f.seq) || 0);
        if (Number.isFinite(Number(f.seq))) this.seq = Math.max(this.seq ?? 0, Number(f.seq));
        this.settled(f.id);
        break;
      case "delta": {
        const entries = Array.isArray(f.entries) ? f.entries : [];
        this.o.onDelta(entries, Number(f.seq) || 0);
        if (Number.isFinite(Number(f.seq))) this.seq = Math.max(this.seq ?? 0, Number(f.seq));
        break;
      }
      case "heartbeat":
        // Everything up to a heartbeat's seq that concerns this socket has been sent, so a
        // quiet wall resumes from there rather than from an old delta (the protocol doc).
        if (this.state === "live" && Number.isFinite(Number(f.seq))) this.seq = Math.max(this.seq ?? 0, Number(f.seq));
        if (typeof f.now === "string") this.o.onHeartbeat?.(f.now, f.behind, f.why, f);
        break;
      case "error":
        this.o.onProtocolError?.(f);
        break;
    }
  }

  /** @param {string} id */
  settled(id) {
    this.pending.delete(id);
    if (this.pending.size > 0) return;
    this.attempt = 0;
    this.setState("live");
  }

  /** @param {{ code?: number, reason?: string }} detail */
  dropped(detail) {
    const ws = this.ws;
    this.ws = null;
    this.clearT(this.silenceTimer);
    if (ws) detach(ws);
    if (this.closed) return;
    const denied = detail.code !== undefined && deniedCodes.has(detail.code);
    this.setState(denied ? "denied" : "lost", detail);
    this.scheduleRetry(denied);
  }

  /** @param {boolean} [denied] */
  scheduleRetry(denied = false) {
    if (this.closed) return;
    this.clearT(this.retryTimer);
    const o = this.o;
    const base = denied
      ? (o.deniedDelayMs ?? 30_000)
      : Math.min(o.maxDelayMs ?? 8000, (o.minDelayMs ?? 500) * 2 ** Math.min(this.attempt, 10));
    this.attempt++;
    const jitter = 0.8 + 0.4 * (o.random ?? Math.random)();
    this.retryTimer = this.setT(() => this.connect(), Math.round(base * jitter));
  }

  armSilence() {
    this.clearT(this.silenceTimer);
    const ws = this.ws;
    this.silenceTimer = this.setT(() => {
      if (this.ws !== ws || !ws) return;
      try {
        ws.close(4000, "silent");
      } catch {}
      this.dropped({ code: 4000, reason: "no frame from the gateway" });
    }, this.o.silenceMs ?? 20_000);
  }
}

/** @param {any} ws */
function detach(ws) {
  ws.onopen = ws.onmessage = ws.onclose = null;
  ws.onerror = () => {};
}
