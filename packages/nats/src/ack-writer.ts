import type { NatsConnection } from "@nats-io/transport-node";

/**
 * nats.js's protocol handler, which a connection keeps as `protocol` (typed by
 * `NatsConnectionImpl` in `@nats-io/nats-core/internal`): `sendCommand` queues raw protocol bytes
 * for the socket, as `publish` does after building them.
 */
type RawProtocol = { sendCommand(cmd: string | Uint8Array, ...payloads: Uint8Array[]): void };

export type AckBody = "+ACK" | "+TERM" | "+WPI" | "-NAK";

const encoder = new TextEncoder();
const bodies = new Map<AckBody, Uint8Array>((["+ACK", "+TERM", "+WPI", "-NAK"] as const).map((b) => [b, encoder.encode(b)]));

/**
 * Writes acknowledgements (`PUB <ack subject> <n>\r\n<body>\r\n`) for a puller's deliveries into
 * one buffer, handed to the connection once per batch (and at the latest at the end of the
 * current microtask queue), instead of one `publish` each. A publish builds a protocol line as a
 * string, encodes it into a fresh buffer (a native call and a malloc) and takes an options
 * object: per acknowledgement, that was the largest share of what ingest allocates. The bytes on
 * the wire are the same. An ack subject is ASCII (nats-server builds it from the stream and
 * consumer names and numbers); one that is not, or a connection closed or draining, or a client
 * without the protocol handler, goes through `publish` as before (which throws on a closed
 * connection, as callers expect).
 */
export class AckWriter {
  private readonly nc: NatsConnection;
  private readonly raw: RawProtocol | null;
  private buf: Uint8Array;
  private pos = 0;
  private scheduled = false;

  constructor(nc: NatsConnection) {
    this.nc = nc;
    const protocol = (nc as unknown as { protocol?: Partial<RawProtocol> }).protocol;
    this.raw = typeof protocol?.sendCommand === "function" ? (protocol as RawProtocol) : null;
    this.buf = new Uint8Array(64 * 1024);
  }

  send(subject: string, body: AckBody): void {
    if (this.raw === null || this.nc.isClosed() || this.nc.isDraining()) {
      this.nc.publish(subject, bodies.get(body)!);
      return;
    }
    // "PUB " + subject + " " + up to 1 digit + "\r\n" + body + "\r\n"
    const need = 4 + subject.length + 1 + 1 + 2 + body.length + 2;
    if (this.pos + need > this.buf.length) this.grow(need);
    const b = this.buf;
    let p = this.pos;
    b[p++] = 80; // P
    b[p++] = 85; // U
    b[p++] = 66; // B
    b[p++] = 32;
    for (let i = 0; i < subject.length; i++) {
      const c = subject.charCodeAt(i);
      if (c > 0x7e || c <= 0x20) {
        // Not a plain ASCII token: let the library write it (it encodes and checks it).
        this.nc.publish(subject, bodies.get(body)!);
        return;
      }
      b[p++] = c;
    }
    b[p++] = 32;
    b[p++] = 48 + body.length;
    b[p++] = 13;
    b[p++] = 10;
    for (let i = 0; i < body.length; i++) b[p++] = body.charCodeAt(i);
    b[p++] = 13;
    b[p++] = 10;
    this.pos = p;
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  /** Hands what was written to the connection now. */
  flush(): void {
    this.scheduled = false;
    if (this.pos === 0) return;
    // A copy of just these bytes: the connection keeps it until its socket has written it, and
    // the buffer is written again from the start.
    const out = this.buf.slice(0, this.pos);
    this.pos = 0;
    if (this.nc.isClosed()) return; // nothing can be sent; the broker redelivers what was not acknowledged
    this.raw!.sendCommand(out);
  }

  private grow(need: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + need));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }
}
