import { constants, deflateRawSync } from "node:zlib";
import type { Duplex } from "node:stream";
import type { WebSocket } from "ws";

/**
 * permessage-deflate (RFC 7692) done once per frame for every socket that gets it. `ws`
 * compresses per socket (a zlib stream each, the same bytes compressed once per client); a tick's
 * delta goes to every client of a group, so the gateway compresses it once and writes the same
 * framed bytes to each socket. That is sound only where the server does not keep its compression
 * context between messages (`server_no_context_takeover`, which the gateway always asks for) and
 * uses the full 32 KiB window (no `server_max_window_bits` below 15 in the agreement).
 *
 * The JSON of a delta compresses about 10×: at 2,000 clients and 5,000 key changes/s that is
 * 100 MB/s on the wire instead of 1 GB/s, which this machine's loopback and CPU cannot carry.
 */

/** The `perMessageDeflate` options of the gateway's WebSocketServer: negotiated, but `ws` itself never compresses. */
export const deflateServerOptions = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: true,
  // With server_no_context_takeover, ws compresses only frames at least this long: never.
  threshold: Number.MAX_SAFE_INTEGER,
} as const;

/**
 * Does the agreement in these response headers (from the WebSocketServer's `headers` event) let
 * one compressed frame serve this socket?
 */
export function sharesDeflate(responseHeaders: readonly string[]): boolean {
  const line = responseHeaders.find((h) => /^sec-websocket-extensions:/i.test(h));
  if (!line) return false;
  const params = line
    .slice(line.indexOf(":") + 1)
    .split(";")
    .map((p) => p.trim().toLowerCase());
  if (params[0] !== "permessage-deflate" || !params.includes("server_no_context_takeover")) return false;
  const bits = params.find((p) => p.startsWith("server_max_window_bits"));
  return bits === undefined || bits.split("=")[1]?.trim() === "15";
}

/** A whole server→client text frame (FIN, RSV1, unmasked) with `payload` deflated, as RFC 7692 §7.2.1 says. */
export function deflatedFrame(payload: string | Buffer, level = 1): Buffer {
  const z = deflateRawSync(payload, { level, finishFlush: constants.Z_SYNC_FLUSH });
  // A sync flush ends with an empty stored block, 00 00 FF FF: the receiver adds it back.
  const body = z.subarray(0, z.length - 4);
  const n = body.length;
  const head = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + n);
  frame[0] = 0xc1; // FIN | RSV1 | text
  if (n < 126) frame[1] = n;
  else if (n < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(0, 2);
    frame.writeUInt32BE(n, 6);
  }
  body.copy(frame, head);
  return frame;
}

/**
 * Writes a frame made by `deflatedFrame` to the socket under `ws`, in order with what `ws` has
 * written: its sender writes each frame synchronously, and never queues one, since the gateway
 * never asks `ws` to compress (a queue forms only while ws deflates) and sends no Blob. False when
 * the socket is not open or not there to write to (the caller then sends the plain frame through
 * ws, which drops it after a close as it drops any send).
 */
export function writeFrame(ws: WebSocket, frame: Buffer): boolean {
  // Not once a close frame has gone either way (CLOSING): nothing may follow it on the wire.
  if (ws.readyState !== ws.OPEN) return false;
  const socket = socketOf(ws);
  if (!socket || socket.destroyed) return false;
  socket.write(frame);
  return true;
}

/** The TCP socket under a `ws` WebSocket (ws keeps it in `_socket`), or null once it is gone. */
export function socketOf(ws: WebSocket): Duplex | null {
  return (ws as unknown as { _socket?: Duplex | null })._socket ?? null;
}
