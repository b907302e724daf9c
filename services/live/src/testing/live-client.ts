import { keyString } from "@pulse/contracts";
import { WebSocket } from "ws";

/** A frame the gateway sent, parsed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any> & { type: string };

export interface Held {
  value: unknown;
  version: number;
}

/**
 * A real `ws` client that keeps what a screen keeps: per key the value of the highest version,
 * and the last seq of a snapshot, delta or resumed frame. Test and bench helper.
 */
export class LiveClient {
  readonly frames: Frame[] = [];
  readonly values = new Map<string, Held>();
  seq = 0;
  closeCode: number | null = null;
  closeReason = "";
  private waiters: (() => void)[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(
    readonly ws: WebSocket,
    readonly options: { paused?: boolean } = {},
  ) {
    this.opened = new Promise((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("close", () => resolve());
    });
    this.closed = new Promise((resolve) =>
      ws.once("close", (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.wake();
        resolve(code);
      }),
    );
    ws.on("error", () => {});
    ws.on("message", (data) => this.onFrame(JSON.parse(data.toString()) as Frame));
  }

  /** `deflate: false`: offer no permessage-deflate (plain text frames); by default offered, as browsers do. */
  static connect(url: string, opts: { headers?: Record<string, string>; origin?: string; deflate?: boolean } = {}): LiveClient {
    return new LiveClient(new WebSocket(url, { headers: opts.headers, origin: opts.origin, perMessageDeflate: opts.deflate ?? true }));
  }

  private onFrame(f: Frame): void {
    this.frames.push(f);
    if (f.type === "snapshot" && f.reset) {
      // A reset replaces what the subscription covered: the simplest receiver drops everything.
      this.values.clear();
    }
    if (f.type === "snapshot" || f.type === "delta") {
      for (const e of f.entries as { metric: string; key: Record<string, string>; value: unknown; version: number }[]) {
        const id = `${e.metric}\u0000${keyString(e.key)}`;
        const cur = this.values.get(id);
        if (!cur || e.version >= cur.version) this.values.set(id, { value: e.value, version: e.version });
      }
    }
    if (f.type === "snapshot" || f.type === "delta" || f.type === "resumed") this.seq = Math.max(this.seq, f.seq as number);
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  subscribe(id: string, topics: string[], extra: { filter?: Record<string, string | string[]>; since?: number } = {}): void {
    this.send({ op: "subscribe", id, topics, ...extra });
  }

  /** Resolves with the first frame (from `from` on) that satisfies `pred`. */
  async next(pred: (f: Frame) => boolean, timeoutMs = 10_000, from = 0): Promise<Frame> {
    const until = Date.now() + timeoutMs;
    for (let i = from; ;) {
      for (; i < this.frames.length; i++) if (pred(this.frames[i]!)) return this.frames[i]!;
      if (this.closeCode !== null) throw new Error(`closed (${this.closeCode} ${this.closeReason}) before the frame came`);
      const left = until - Date.now();
      if (left <= 0)
        throw new Error(
          `no such frame within ${timeoutMs} ms (${this.frames.length} frames: ${this.frames
            .slice(-3)
            .map((f) => JSON.stringify(f).slice(0, 200))
            .join(" | ")})`,
        );
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  /** Waits until `cond()` holds (checked after every frame). */
  async until(cond: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.closeCode !== null) throw new Error(`closed (${this.closeCode}) while waiting for ${what}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`${what} not met within ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  /** Values of one metric: keyString → value. */
  metric(metric: string): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const [id, h] of this.values) {
      const [m, k] = id.split("\u0000") as [string, string];
      if (m === metric && h.value !== null) out.set(k, h.value);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close();
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2_000))]);
    this.ws.terminate();
  }
}
