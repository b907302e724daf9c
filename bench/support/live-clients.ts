/**
 * The bench's clients, in a process of their own (so that their CPU is not the gateway's): N
 * WebSocket (ws) or socket.io clients, each subscribed to the same topics. A client never parses
 * a delta: it reads the frame's `"seq":S` from its first bytes and, with the commit time of every
 * LIVE sequence (sent here by the bench over IPC), records commit → receipt for each LIVE
 * message the frame covers (prev seq + 1 … S) in a 1 ms histogram.
 *
 * IPC in: {cmd:"start", kind:"ws"|"sio", url, n, topics, paused?}, {cmd:"at", pairs:[seq, atMs, …]},
 * {cmd:"reset"}, {cmd:"report"}, {cmd:"close"}. Out: {ok:"started", connected}, {report}.
 */
import { io, type Socket } from "socket.io-client";
import { WebSocket } from "ws";

const hist = new Uint32Array(60_001);
let frames = 0;
let bytes = 0;
let samples = 0;
const at = new Map<number, number>();
let cpu0 = process.cpuUsage();
let t0 = performance.now();
const sockets: (WebSocket | Socket)[] = [];
let closes = 0;

const seqOf = (head: string): number => {
  const i = head.indexOf('"seq":');
  if (i < 0) return -1;
  let n = 0;
  for (let j = i + 6; j < head.length; j++) {
    const c = head.charCodeAt(j) - 48;
    if (c < 0 || c > 9) break;
    n = n * 10 + c;
  }
  return n;
};

function onFrame(state: { prev: number }, head: string, size: number): void {
  const now = Date.now();
  frames++;
  bytes += size;
  if (!head.startsWith('{"type":"delta"')) {
    if (head.startsWith('{"type":"snapshot"')) state.prev = Math.max(state.prev, seqOf(head));
    return;
  }
  const s = seqOf(head);
  // A socket.io client gets no snapshot: its first frame says where it starts, nothing before it.
  if (state.prev === 0) {
    state.prev = s;
    return;
  }
  for (let q = Math.max(state.prev + 1, s - 200_000); q <= s; q++) {
    const a = at.get(q);
    if (a === undefined) continue;
    const ms = Math.min(60_000, Math.max(0, now - a));
    hist[ms]!++;
    samples++;
  }
  if (s > state.prev) state.prev = s;
}

function quantile(p: number): number {
  const want = Math.ceil(samples * p);
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i]!;
    if (seen >= want && want > 0) return i;
  }
  return NaN;
}

async function start(kind: "ws" | "sio", url: string, n: number, topics: string[], paused = false): Promise<number> {
  let connected = 0;
  const batch = 200;
  for (let i = 0; i < n; i += batch) {
    const opens: Promise<void>[] = [];
    for (let k = i; k < Math.min(n, i + batch); k++) {
      const state = { prev: 0 };
      if (kind === "ws") {
        const ws = new WebSocket(url);
        sockets.push(ws);
        opens.push(
          new Promise((resolve) => {
            ws.once("open", () => {
              connected++;
              ws.send(JSON.stringify({ op: "subscribe", id: "bench", topics }));
              // A client that never reads again (the slow part): its socket stops being read.
              if (paused) setTimeout(() => (ws as unknown as { _socket: { pause(): void } })._socket.pause(), 1_000);
              resolve();
            });
            ws.once("error", () => resolve());
          }),
        );
        ws.on("message", (data: Buffer) => onFrame(state, data.toString("latin1", 0, 48), data.length));
        ws.on("close", () => closes++);
      } else {
        const s = io(url, { transports: ["websocket"], reconnection: false });
        sockets.push(s);
        opens.push(
          new Promise((resolve) => {
            s.once("connect", () => {
              connected++;
              resolve();
            });
            s.once("connect_error", () => resolve());
          }),
        );
        s.on("delta", (frame: string) => onFrame(state, frame.slice(0, 48), frame.length));
        s.on("disconnect", () => closes++);
      }
    }
    await Promise.all(opens);
  }
  return connected;
}

process.on("message", (m: { cmd: string; [k: string]: unknown }) => {
  switch (m.cmd) {
    case "start":
      void start(m.kind as "ws" | "sio", m.url as string, m.n as number, m.topics as string[], m.paused === true).then((connected) =>
        process.send!({ ok: "started", connected }),
      );
      break;
    case "at": {
      const p = m.pairs as number[];
      for (let i = 0; i < p.length; i += 2) at.set(p[i]!, p[i + 1]!);
      // Keep the last 200,000 sequences.
      if (at.size > 200_000) {
        const cut = p[p.length - 2]! - 200_000;
        for (const k of at.keys()) {
          if (k >= cut) break;
          at.delete(k);
        }
      }
      break;
    }
    case "reset":
      hist.fill(0);
      frames = bytes = samples = 0;
      cpu0 = process.cpuUsage();
      t0 = performance.now();
      break;
    case "report": {
      const seconds = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(cpu0);
      process.send!({
        report: {
          seconds,
          frames,
          bytes,
          samples,
          closes,
          open: sockets.length - closes,
          p50: quantile(0.5),
          p99: quantile(0.99),
          max: quantile(1),
          cpuShare: (c.user + c.system) / 1e6 / seconds,
          rssMiB: process.memoryUsage().rss / 1048576,
        },
      });
      break;
    }
    case "close":
      for (const s of sockets) {
        if (s instanceof WebSocket) s.terminate();
        else s.close();
      }
      setTimeout(() => process.exit(0), 200);
      break;
  }
});
process.send!({ ok: "ready" });
