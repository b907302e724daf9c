import { describe, expect, it } from "vitest";
import { LiveClient, type LinkState } from "../wall/lib/live-client.js";

// The protocol client's own decisions (when to resubscribe, with which `since`, how long to wait,
// when a silent link is dead), driven by hand: the socket here is the narrow seam a browser gives
// (onopen/onmessage/onclose, send, close) and the timers are a manual clock. The real gateway
// behind it is exercised by test/wall-browser.test.ts.
class Socket {
  static all: Socket[] = [];
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;
  onopen: (() => void) | null = null;
  onmessage: ((ev: { data: string }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    Socket.all.push(this);
  }
  send(s: string) {
    this.sent.push(JSON.parse(s));
  }
  close(code = 1000) {
    this.closedWith = code;
  }
  open() {
    this.onopen?.();
  }
  frame(f: unknown) {
    this.onmessage?.({ data: JSON.stringify(f) });
  }
  drop(code = 1006) {
    this.onclose?.({ code, reason: "" });
  }
}

function timers() {
  let now = 0;
  let id = 0;
  const due = new Map<number, { at: number; fn: () => void }>();
  return {
    setTimeout: (fn: () => void, ms: number) => (due.set(++id, { at: now + ms, fn }), id),
    clearTimeout: (t: unknown) => void due.delete(t as number),
    /** Moves time on, running what falls due, in order. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const next = [...due.entries()].filter(([, d]) => d.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!next) break;
        due.delete(next[0]);
        now = next[1].at;
        next[1].fn();
      }
      now = end;
    },
    get pending() {
      return [...due.values()].map((d) => d.at - now);
    },
  };
}

function setup() {
  Socket.all = [];
  const t = timers();
  const states: LinkState[] = [];
  const snapshots: { n: number; reset: boolean }[] = [];
  const deltas: number[] = [];
  const c = new LiveClient({
    url: "ws://wall/live?token=x",
    topics: ["subscribers", "freshness"],
    WebSocket: Socket,
    onSnapshot: (e, info) => snapshots.push({ n: e.length, reset: info.reset }),
    onDelta: (_e, seq) => deltas.push(seq),
    onState: (s) => states.push(s),
    silenceMs: 20_000,
    random: () => 0.5, // no jitter: the delays are exact
    setTimeout: t.setTimeout,
    clearTimeout: t.clearTimeout,
  }).start();
  const last = () => Socket.all.at(-1)!;
  return { c, t, states, snapshots, deltas, last };
}

describe("wall live client", () => {
  it("subscribes without since first, then resumes from the last sequence it received", () => {
    const { c, t, snapshots, deltas, last, states } = setup();
    last().open();
    expect(last().sent).toEqual([{ op: "subscribe", id: "wall", topics: ["subscribers", "freshness"] }]);
    last().frame({ type: "heartbeat", now: "2026-12-03T08:00:00Z", seq: 99 }); // before the snapshot: not ours yet
    expect(c.seq).toBeNull();
    last().frame({ type: "snapshot", id: "wall", seq: 10, entries: [{ metric: "subscribers", key: { a: "1" }, value: 1, version: 1 }] });
    expect(snapshots).toEqual([{ n: 1, reset: false }]);
    expect(states.at(-1)).toBe("live");
    last().frame({ type: "delta", seq: 12, entries: [] });
    last().frame({ type: "heartbeat", now: "2026-12-03T08:00:05Z", seq: 14 });
    expect(deltas).toEqual([12]);
    expect(c.seq).toBe(14);

    last().drop(1001); // the gateway shuts down
    expect(states.at(-1)).toBe("lost");
    t.advance(500);
    expect(Socket.all.length).toBe(2);
    last().open();
    expect(last().sent).toEqual([{ op: "subscribe", id: "wall", topics: ["subscribers", "freshness"], since: 14 }]);
    last().frame({ type: "resumed", id: "wall", seq: 14 });
    expect(states.at(-1)).toBe("live");
    expect(c.resumes).toBe(1);
    expect(snapshots.length).toBe(1); // a resume keeps what is held
  });

  it("backs off 0.5 s, 1 s, 2 s … up to 8 s while the gateway is away, and starts over once live", () => {
    const { t, last } = setup();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      last().drop(1006);
      delays.push(t.pending.at(-1)!);
      t.advance(t.pending.at(-1)!);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
    last().open();
    last().frame({ type: "snapshot", id: "wall", seq: 1, entries: [] });
    last().drop(1006);
    expect(t.pending.at(-1)).toBe(500);
  });

  it("declares a link dead after 20 s without any frame, closes it and reconnects", () => {
    const { t, last, states } = setup();
    const first = last();
    first.open();
    first.frame({ type: "snapshot", id: "wall", seq: 5, entries: [] });
    t.advance(19_000);
    first.frame({ type: "heartbeat", now: "2026-12-03T08:00:00Z", seq: 5 });
    t.advance(19_000);
    expect(states.at(-1)).toBe("live"); // each frame re-arms the watchdog
    t.advance(1_001);
    expect(states.at(-1)).toBe("lost");
    expect(first.closedWith).toBe(4000);
    t.advance(500);
    expect(Socket.all.length).toBe(2);
    // A late frame from the dead socket changes nothing.
    first.frame({ type: "delta", seq: 6, entries: [] });
    last().open();
    expect(last().sent[0]).toMatchObject({ since: 5 });
  });

  it("a refused token waits 30 s between tries and says so; a reset snapshot is counted", () => {
    const { c, t, last, states, snapshots } = setup();
    last().drop(4401);
    expect(states.at(-1)).toBe("denied");
    expect(t.pending.at(-1)).toBe(30_000);
    t.advance(30_000);
    last().open();
    last().frame({ type: "snapshot", id: "wall", seq: 3, entries: [], reset: true });
    expect(snapshots).toEqual([{ n: 0, reset: true }]);
    expect(c.resets).toBe(1);
    // Frames for another subscription id, bad JSON, unknown types: ignored.
    last().frame({ type: "snapshot", id: "other", seq: 9, entries: [] });
    last().onmessage?.({ data: "{not json" });
    last().frame({ type: "nope" });
    expect(snapshots.length).toBe(1);
    expect(c.seq).toBe(3);
    c.close();
    expect(last().closedWith).toBe(1000);
    expect(t.pending).toEqual([]);
  });

  it("with two subscriptions, sends both (same since) and is live only when both are answered", () => {
    Socket.all = [];
    const t = timers();
    const states: LinkState[] = [];
    const got: { id: string; topics: string[] }[] = [];
    const c = new LiveClient({
      url: "ws://wall/live",
      subscriptions: [
        { id: "wall", topics: ["subscribers"] },
        { id: "wall-down", topics: ["bts_station"], filter: { status: "down" } },
      ],
      WebSocket: Socket,
      onSnapshot: (_e, info) => got.push({ id: info.id, topics: info.topics }),
      onDelta: () => {},
      onState: (s) => states.push(s),
      random: () => 0.5,
      setTimeout: t.setTimeout,
      clearTimeout: t.clearTimeout,
    }).start();
    const ws = Socket.all.at(-1)!;
    ws.open();
    expect(ws.sent).toEqual([
      { op: "subscribe", id: "wall", topics: ["subscribers"] },
      { op: "subscribe", id: "wall-down", topics: ["bts_station"], filter: { status: "down" } },
    ]);
    ws.frame({ type: "snapshot", id: "wall", seq: 7, entries: [] });
    expect(states.includes("live")).toBe(false);
    ws.frame({ type: "snapshot", id: "wall-down", seq: 8, entries: [] });
    expect(states.at(-1)).toBe("live");
    expect(got).toEqual([
      { id: "wall", topics: ["subscribers"] },
      { id: "wall-down", topics: ["bts_station"] },
    ]);
    ws.drop();
    t.advance(500);
    const again = Socket.all.at(-1)!;
    again.open();
    expect(again.sent.map((m) => [m.id, m.since])).toEqual([
      ["wall", 8],
      ["wall-down", 8],
    ]);
    again.frame({ type: "resumed", id: "wall", seq: 8 });
    expect(states.at(-1)).toBe("lost");
    again.frame({ type: "resumed", id: "wall-down", seq: 8 });
    expect(states.at(-1)).toBe("live");
    c.close();
  });
});
