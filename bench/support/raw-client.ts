/**
 * A bare RFC 6455 client for the bench: a TCP socket, the upgrade, and a frame reader that keeps
 * only the first `headBytes` of each message's payload (inflated when the frame is compressed,
 * RFC 7692, once per distinct frame in this process) and skips the rest without copying it. It answers pings (the gateway's lag probe
 * and keepalive depend on it) and, for socket.io (engine.io 4 over a WebSocket), joins the
 * default namespace and answers engine.io's pings. Bench only: a real screen decodes every byte.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { constants, inflateRawSync } from "node:zlib";

export interface RawClientEvents {
  /** A text message: its first bytes as text, and its size on the wire. */
  onText(head: string, size: number): void;
  onClose(): void;
}

const headBytes = 160;

/**
 * The heads of the compressed frames seen lately, by their first compressed bytes and size: the
 * gateway sends one group's clients the very same bytes each tick, so the clients of this
 * process inflate each of them once, not once per client (the server's work is unchanged).
 */
const heads = new Map<string, string>();
function inflatedHead(payload: Buffer, size: number): string {
  const key = `${size}:${payload.toString("latin1", 0, Math.min(payload.length, 64))}`;
  let text = heads.get(key);
  if (text === undefined) {
    try {
      // Z_SYNC_FLUSH: inflate what these first bytes hold, the message's end not needed.
      text = inflateRawSync(payload, { finishFlush: constants.Z_SYNC_FLUSH }).toString("latin1");
    } catch {
      text = "";
    }
    if (heads.size >= 256) heads.clear();
    heads.set(key, text);
  }
  return text;
}

export class RawClient {
  readonly opened: Promise<void>;
  private readonly socket: Socket;
  private upgraded = false;
  private pre = Buffer.alloc(0);
  // The frame being read.
  private hdr = Buffer.alloc(10);
  private hdrLen = 0;
  private hdrNeed = 2;
  private inPayload = false;
  private remaining = 0;
  private size = 0;
  private opcode = 0;
  private rsv1 = false;
  private head = Buffer.alloc(headBytes);
  private headLen = 0;
  private closed = false;
  /** One mask for every frame this client sends (a fresh one per frame is a share of this process's CPU). */
  private readonly mask = randomBytes(4);

  constructor(
    url: string,
    private readonly kind: "ws" | "sio",
    private readonly on: RawClientEvents,
  ) {
    const u = new URL(url);
    const path = kind === "sio" ? "/socket.io/?EIO=4&transport=websocket" : `${u.pathname}${u.search}`;
    this.socket = connect(Number(u.port), u.hostname);
    this.socket.setNoDelay(true);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once("connect", () =>
        this.socket.write(
          `GET ${path} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n` +
            `Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n`,
        ),
      );
      this.socket.on("data", (chunk: Buffer) => {
        if (this.upgraded) return this.read(chunk);
        this.pre = Buffer.concat([this.pre, chunk]);
        const end = this.pre.indexOf("\r\n\r\n");
        if (end < 0) return;
        const status = this.pre.toString("latin1", 0, 12);
        if (!status.startsWith("HTTP/1.1 101")) {
          reject(new Error(`upgrade refused: ${status}`));
          this.socket.destroy();
          return;
        }
        this.upgraded = true;
        const rest = this.pre.subarray(end + 4);
        this.pre = Buffer.alloc(0);
        resolve();
        if (rest.length > 0) this.read(rest);
      });
      this.socket.once("error", reject);
    });
    this.socket.on("error", () => {});
    this.socket.once("close", () => {
      if (this.closed) return;
      this.closed = true;
      this.on.onClose();
    });
  }

  sendText(text: string): void {
    this.sendFrame(0x1, Buffer.from(text));
  }

  pause(): void {
    this.socket.pause();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private sendFrame(opcode: number, payload: Buffer): void {
    const n = payload.length;
    const ext = n < 126 ? 0 : 2;
    const frame = Buffer.allocUnsafe(2 + ext + 4 + n);
    frame[0] = 0x80 | opcode;
    frame[1] = 0x80 | (n < 126 ? n : 126);
    if (ext) frame.writeUInt16BE(n, 2);
    this.mask.copy(frame, 2 + ext);
    for (let i = 0; i < n; i++) frame[2 + ext + 4 + i] = payload[i]! ^ this.mask[i & 3]!;
    if (!this.socket.destroyed) this.socket.write(frame);
  }

  private read(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (!this.inPayload) {
        const take = Math.min(this.hdrNeed - this.hdrLen, chunk.length - i);
        chunk.copy(this.hdr, this.hdrLen, i, i + take);
        this.hdrLen += take;
        i += take;
        if (this.hdrLen < this.hdrNeed) return;
        const len7 = this.hdr[1]! & 0x7f;
        if (this.hdrNeed === 2 && len7 >= 126) {
          this.hdrNeed = len7 === 126 ? 4 : 10;
          continue;
        }
        this.opcode = this.hdr[0]! & 0x0f;
        this.rsv1 = (this.hdr[0]! & 0x40) !== 0;
        this.remaining = len7 < 126 ? len7 : len7 === 126 ? this.hdr.readUInt16BE(2) : this.hdr.readUInt32BE(6);
        this.size = this.hdrNeed + this.remaining;
        this.hdrLen = 0;
        this.hdrNeed = 2;
        this.headLen = 0;
        this.inPayload = true;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      if (this.headLen < headBytes) {
        const h = Math.min(take, headBytes - this.headLen);
        chunk.copy(this.head, this.headLen, i, i + h);
        this.headLen += h;
      }
      i += take;
      this.remaining -= take;
      if (this.remaining > 0) return;
      this.inPayload = false;
      this.message();
    }
  }

  private message(): void {
    const payload = this.head.subarray(0, this.headLen);
    switch (this.opcode) {
      case 0x1: {
        const text = this.rsv1 ? inflatedHead(payload, this.size) : payload.toString("latin1");
        if (this.kind === "sio") {
          if (text.startsWith("0{")) return this.sendText("40"); // open → join the default namespace
          if (text === "2") return this.sendText("3"); // engine.io ping
        }
        this.on.onText(text, this.size);
        return;
      }
      case 0x9:
        return this.sendFrame(0xa, Buffer.from(payload)); // ping → pong
      case 0x8:
        this.sendFrame(0x8, Buffer.alloc(0));
        this.socket.end();
        return;
      default:
        return; // pong, binary, continuation: not used by either server
    }
  }
}
