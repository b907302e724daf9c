/**
 * The abusers of test/flood-gateway.test.ts, in a process of their own so that their work never
 * delays the well-behaved client the test measures. IPC in: {cmd:"run", port}, {cmd:"close"};
 * out: {ok:"ready"}, {result}. Paused clients stay connected (and unread) until "close".
 */
import { connect as tcpConnect, type Socket } from "node:net";
import { allLogTopics, LiveClient } from "@pulse/live/testing";
import { WebSocket } from "ws";

let port = 0;
const raw = new Set<Socket>();
const clients: LiveClient[] = [];

const handshake =
  "GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
/** A raw TCP socket to the gateway; resolves with what the server sent once it closes (or after `ms`). */
function rawSocket(write: (s: Socket, upgraded: Promise<void>) => void, ms = 5_000): Promise<Buffer> {
  return new Promise((resolveP) => {
    const s = tcpConnect(port, "127.0.0.1");
    raw.add(s);
    const chunks: Buffer[] = [];
    let upgraded: () => void;
    const up = new Promise<void>((r) => (upgraded = r));
    const done = () => {
      raw.delete(s);
      s.destroy();
      resolveP(Buffer.concat(chunks));
    };
    s.on("data", (d) => {
      chunks.push(d);
      if (Buffer.concat(chunks).includes("\r\n\r\n")) upgraded();
    });
    s.on("error", () => {});
    s.on("close", done);
    s.on("connect", () => write(s, up));
    setTimeout(done, ms);
  });
}
/** The close code of the first close frame after the 101 response, or null. */
function closeCodeOf(b: Buffer): number | null {
  const i = b.indexOf("\r\n\r\n");
  if (i < 0 || !b.subarray(0, i).toString().startsWith("HTTP/1.1 101")) return null;
  for (let j = i + 4; j + 1 < b.length;) {
    const op = b[j]! & 0x0f;
    let len = b[j + 1]! & 0x7f;
    let at = j + 2;
    if (len === 126) {
      len = b.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = Number(b.readBigUInt64BE(at));
      at += 8;
    }
    if (op === 0x8) return len >= 2 ? b.readUInt16BE(at) : 1005;
    j = at + len;
  }
  return null;
}
/** A masked client frame. */
function frame(opcode: number, payload: Buffer, masked = true, claimLength?: bigint): Buffer {
  const head: number[] = [0x80 | opcode];
  const len = claimLength ?? BigInt(payload.length);
  if (len < 126n) head.push((masked ? 0x80 : 0) | Number(len));
  else if (len < 65536n) head.push((masked ? 0x80 : 0) | 126, Number(len >> 8n) & 0xff, Number(len) & 0xff);
  else {
    head.push((masked ? 0x80 : 0) | 127);
    for (let k = 7; k >= 0; k--) head.push(Number((len >> BigInt(k * 8)) & 0xffn));
  }
  if (!masked) return Buffer.concat([Buffer.from(head), payload]);
  const mask = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(payload.map((c, k) => c ^ mask[k % 4]!));
  return Buffer.concat([Buffer.from(head), mask, body]);
}

/** 5,000 connections opened and dropped, `wave` at a time, in four ways. */
async function churn(total: number, wave: number): Promise<Record<string, number>> {
  const count: Record<string, number> = { closed: 0, cut: 0, subscribedThenCut: 0, halfHandshake: 0 };
  for (let i = 0; i < total; i += wave) {
    const jobs: Promise<void>[] = [];
    for (let k = i; k < Math.min(total, i + wave); k++) {
      const kind = k % 4;
      if (kind === 3) {
        // Half an upgrade request, then gone.
        jobs.push(
          rawSocket((s) => {
            s.write(handshake.slice(0, 40 + (k % 60)));
            setTimeout(() => s.destroy(), 5 + (k % 20));
          }, 1_000).then(() => void count.halfHandshake!++),
        );
        continue;
      }
      jobs.push(
        new Promise<void>((r) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/live`);
          ws.on("error", () => r());
          ws.on("close", () => r());
          ws.on("open", () => {
            if (kind === 0) {
              count.closed!++;
              ws.close();
            } else if (kind === 1) {
              count.cut!++;
              ws.terminate();
            } else {
              count.subscribedThenCut!++;
              ws.send(JSON.stringify({ op: "subscribe", id: "x", topics: allLogTopics, since: k % 2 ? 1 : undefined }));
              setTimeout(() => ws.terminate(), k % 30);
            }
          });
        }),
      );
    }
    await Promise.all(jobs);
  }
  return count;
}

async function run(): Promise<Record<string, unknown>> {
  const from = Date.now();
  // 50 clients that never read, subscribed to everything (their snapshots and deltas pile up).
  const paused: LiveClient[] = [];
  for (let i = 0; i < 50; i++) paused.push(LiveClient.connect(`ws://127.0.0.1:${port}/live`));
  clients.push(...paused);
  await Promise.all(paused.map((c) => c.opened));
  for (const c of paused) {
    c.subscribe("all", [...allLogTopics, "kpi", "freshness"]);
    (c.ws as unknown as { _socket: Socket })._socket.pause();
  }
  // 1,000 subscriptions on one socket (distinct ids): 32 at most, errors, then 1008 past 50 of them.
  const many = LiveClient.connect(`ws://127.0.0.1:${port}/live`);
  // 1,000 subscribes under one id, each replacing the last, sent at once: one subscription.
  const replacing = LiveClient.connect(`ws://127.0.0.1:${port}/live`);
  clients.push(many, replacing);
  await Promise.all([many.opened, replacing.opened]);
  for (let i = 0; i < 1_000; i++) many.subscribe(`s${i}`, ["feed"]);
  for (let i = 0; i < 1_000; i++) replacing.subscribe("same", i % 2 ? ["feed"] : ["subscribers", "bts_stations"]);
  // Oversize and invalid frames.
  const bad: LiveClient[] = [];
  for (let i = 0; i < 20; i++) bad.push(LiveClient.connect(`ws://127.0.0.1:${port}/live`));
  clients.push(...bad);
  await Promise.all(bad.map((c) => c.opened));
  bad.forEach((c, i) => {
    if (i < 10)
      c.send("x".repeat(100_000)); // 1009
    else
      for (let k = 0; k < 60; k++)
        c.send([`{nope`, `[1]`, `{"op":"dance"}`, `{"op":"subscribe","id":"a","topics":["feed"],"since":-1}`][k % 4]!);
  });
  const rawCases = Promise.all([
    // A payload length of 2^40 announced: refused on the header, nothing buffered.
    rawSocket(async (s, up) => (s.write(handshake), await up, s.write(frame(0x1, Buffer.alloc(16), true, 1n << 40n)))),
    // An unmasked client frame, a reserved opcode, a fragmented control frame.
    rawSocket(async (s, up) => (s.write(handshake), await up, s.write(frame(0x1, Buffer.from('{"op":"subscribe"}'), false)))),
    rawSocket(async (s, up) => (s.write(handshake), await up, s.write(frame(0x3, Buffer.from("hi"))))),
    rawSocket(async (s, up) => (s.write(handshake), await up, s.write(Buffer.from([0x09, 0x80, 1, 2, 3, 4])))),
    // Not HTTP at all, and an upgrade to another path.
    rawSocket((s) => s.write(Buffer.from(Array.from({ length: 4096 }, (_, k) => (k * 7919) % 256))), 3_000),
    rawSocket((s) => s.write(handshake.replace("/live", "/nope")), 3_000),
  ]).then((bs) => bs.map((b, i) => (i < 4 ? closeCodeOf(b) : b.toString("latin1").slice(0, 12))));
  const churned = await churn(5_000, 250);
  const rawResults = await rawCases;
  const ms = Date.now() - from;
  await Promise.race([Promise.all([many.closed, ...bad.map((c) => c.closed)]), new Promise((r) => setTimeout(r, 5_000))]);
  return {
    ms,
    churned,
    rawResults,
    many: {
      snapshots: many.frames.filter((f) => f.type === "snapshot").length,
      errors: many.frames.filter((f) => f.type === "error").map((f) => f.code),
      close: many.closeCode,
    },
    replacing: {
      snapshots: replacing.frames.filter((f) => f.type === "snapshot").length,
      errors: replacing.frames.filter((f) => f.type === "error").length,
      close: replacing.closeCode,
    },
    bad: bad.map((c) => c.closeCode),
  };
}

process.on("message", (m: { cmd: string; port?: number }) => {
  if (m.cmd === "run") {
    port = m.port!;
    void run().then((result) => process.send!({ result }));
  } else if (m.cmd === "close") {
    for (const s of raw) s.destroy();
    for (const c of clients) c.ws.terminate();
    setTimeout(() => process.exit(0), 100);
  }
});
process.send!({ ok: "ready" });
