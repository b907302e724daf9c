import { constants, deflateRawSync, inflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { WebSocket } from "ws";
import { deflatedFrame, sharesDeflate, writeFrame } from "./shared-deflate";

/** What a receiver does (RFC 7692 §7.2.2): the payload, plus 00 00 FF FF, inflated. */
const receive = (frame: Buffer) => {
  expect(frame[0]).toBe(0xc1); // FIN, RSV1, text
  const len7 = frame[1]! & 0x7f;
  expect(frame[1]! & 0x80).toBe(0); // a server's frames are not masked
  const [head, n] = len7 < 126 ? [2, len7] : len7 === 126 ? [4, frame.readUInt16BE(2)] : [10, frame.readUInt32BE(6)];
  expect(frame.length).toBe(head + n);
  const body = Buffer.concat([frame.subarray(head), Buffer.from([0, 0, 0xff, 0xff])]);
  return inflateRawSync(body, { finishFlush: constants.Z_SYNC_FLUSH }).toString();
};

describe("frames compressed once for many sockets", () => {
  it("inflate back to the text, with each length encoding", () => {
    const small = '{"type":"delta","seq":1,"entries":[]}';
    const mid = JSON.stringify({ type: "delta", seq: 2, entries: Array.from({ length: 300 }, (_, i) => ({ i, v: i * 7919 })) });
    let x = 1;
    const noise = Array.from({ length: 120_000 }, () => String.fromCharCode(33 + ((x = (x * 48271) % 2147483647) % 90))).join("");
    for (const text of [small, mid, `{"n":"${noise}"}`, "Nghệ An — số thuê bao"]) {
      const frame = deflatedFrame(text);
      expect(receive(frame)).toBe(text);
    }
    expect(deflatedFrame(small)[1]).toBeLessThan(126);
    expect(deflatedFrame(mid)[1]).toBe(126);
    expect(deflatedFrame(`{"n":"${noise}"}`)[1]).toBe(127);
  });

  it("drop the empty block a sync flush ends with, which the receiver adds back", () => {
    const text = JSON.stringify({ type: "delta", seq: 3, entries: Array.from({ length: 50 }, (_, i) => ({ metric: "subscribers", i })) });
    const z = deflateRawSync(text, { finishFlush: constants.Z_SYNC_FLUSH });
    expect(z.subarray(-4)).toEqual(Buffer.from([0, 0, 0xff, 0xff]));
    expect(receive(deflatedFrame(text, 6))).toBe(text);
  });

  it("go only to sockets that agreed to no context takeover and the full window", () => {
    const ok = [
      "HTTP/1.1 101 Switching Protocols",
      "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    ];
    expect(sharesDeflate(ok)).toBe(true);
    expect(sharesDeflate(["sec-websocket-extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=15"])).toBe(
      true,
    );
    expect(sharesDeflate(["Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; server_max_window_bits=10"])).toBe(
      false,
    );
    expect(sharesDeflate(["Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover"])).toBe(false);
    expect(sharesDeflate(["Upgrade: websocket"])).toBe(false);
  });

  it("are written only to an open socket: nothing may follow a close frame", () => {
    const writes: Buffer[] = [];
    const ws = (readyState: number, socket: object | null) => ({ readyState, OPEN: 1, _socket: socket }) as unknown as WebSocket;
    const socket = { destroyed: false, write: (b: Buffer) => writes.push(b) };
    const frame = deflatedFrame("{}");
    expect(writeFrame(ws(1, socket), frame)).toBe(true);
    expect(writeFrame(ws(2, socket), frame)).toBe(false); // CLOSING
    expect(writeFrame(ws(3, socket), frame)).toBe(false); // CLOSED
    expect(writeFrame(ws(1, null), frame)).toBe(false);
    expect(writeFrame(ws(1, { ...socket, destroyed: true }), frame)).toBe(false);
    expect(writes).toEqual([frame]);
  });
});
