/**
 * The bench's clients, in a process of their own (so that their CPU is not the gateway's): N
 * WebSocket clients of the gateway (kind `ws`) or of socket.io (kind `sio`), each subscribed to
 * the same topics.
 *
 * One process holds every client, so a client must cost little: each is a bare RFC 6455 client
 * on a TCP socket (raw-client.ts) that reads only the first bytes of each frame (inflating just
 * those when the frame is compressed) and skips the rest without copying it. A screen decodes
 * the whole frame, on its own machine; 2,000 full decoders in one process would measure this
 * process, not the server. A client never parses a delta: it reads the frame's `"seq":S` from
 * its head and, with the commit time of every LIVE sequence (sent here by the bench over IPC),
 * records commit → receipt for each LIVE message the frame covers (prev seq + 1 … S) in a 1 ms
 * histogram.
 *
 * IPC in: {cmd:"start", kind:"ws"|"sio", url, n, topics, paused?}, {cmd:"at", pairs:[seq, atMs, …]},
 * {cmd:"reset"}, {cmd:"report"}, {cmd:"close"}. Out: {ok:"started", connected}, {report} (a
 * ClientsReport: live-clients-report.ts merges and reads them).
 */
import type { ClientsReport } from "./live-clients-report";
import { RawClient } from "./raw-client";

const hist = new Uint32Array(60_001);
let frames = 0;
let bytes = 0;
let samples = 0;
/** Commit time (epoch ms) of LIVE sequence q at [q & ringMask] while atSeq there is q: a ring of the last 2^18 sequences. */
const ringMask = (1 << 18) - 1;
const atMs = new Float64Array(ringMask + 1);
const atSeq = new Float64Array(ringMask + 1).fill(-1);
let cpu0 = process.cpuUsage();
let t0 = performance.now();
const sockets: RawClient[] = [];
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
    if (atSeq[q & ringMask] !== q) continue;
    const a = atMs[q & ringMask]!;
    const ms = Math.min(60_000, Math.max(0, now - a));
    hist[ms]!++;
    samples++;
  }
  if (s > state.prev) state.prev = s;
}

/** Snapshots received: "started" is told once every client has its own (a big state takes a while to send 2,000 times). */
let snapshots = 0;

async function start(kind: "ws" | "sio", url: string, n: number, topics: string[], paused = false): Promise<number> {
  let connected = 0;
  const batch = 200;
  const subscribe = JSON.stringify({ op: "subscribe", id: "bench", topics });
  for (let i = 0; i < n; i += batch) {
    const opens: Promise<void>[] = [];
    for (let k = i; k < Math.min(n, i + batch); k++) {
      const state = { prev: 0 };
      const c = new RawClient(url, kind, {
        // socket.io wraps each event: 42["delta","{\"type\":\"delta\",\"seq\":…"]
        onText: (head, size) => {
          if (head.startsWith('{"type":"snapshot"')) snapshots++;
          onFrame(state, kind === "sio" ? unwrapSocketIo(head) : head, size);
        },
        onClose: () => closes++,
      });
      sockets.push(c);
      opens.push(
        c.opened.then(
          () => {
            connected++;
            if (kind === "ws") c.sendText(subscribe);
            // A client that never reads again (the slow part): its socket stops being read.
            if (paused) setTimeout(() => c.pause(), 1_000);
          },
          () => {},
        ),
      );
    }
    await Promise.all(opens);
  }
  if (kind === "ws" && !paused) {
    const until = Date.now() + 180_000;
    while (snapshots < connected && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }
  return connected;
}

/** The head of a socket.io `delta` event, as the frame's own text. */
function unwrapSocketIo(head: string): string {
  const prefix = '42["delta","';
  return head.startsWith(prefix) ? head.slice(prefix.length).replaceAll('\\"', '"') : "";
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
      for (let i = 0; i < p.length; i += 2) {
        atSeq[p[i]! & ringMask] = p[i]!;
        atMs[p[i]! & ringMask] = p[i + 1]!;
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
      const report: ClientsReport = {
        seconds,
        frames,
        bytes,
        samples,
        closes,
        open: sockets.length - closes,
        hist: [...hist].flatMap((count, ms) => (count > 0 ? [ms, count] : [])),
        cpuShare: (c.user + c.system) / 1e6 / seconds,
        rssMiB: process.memoryUsage().rss / 1048576,
      };
      process.send!({ report });
      break;
    }
    case "close":
      for (const s of sockets) s.destroy();
      setTimeout(() => process.exit(0), 200);
      break;
  }
});
process.send!({ ok: "ready" });
