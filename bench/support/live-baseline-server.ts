/**
 * The baselines of `pnpm bench:live`: a minimal server that follows LIVE, coalesces per key on the
 * same 100 ms tick and broadcasts one delta frame to every client. Argv: kind, port, LIVE stream
 * name, NATS URL. Kind `sio`: socket.io 4 (one room, broadcast), what a team would otherwise pick.
 * Kind `ws`: a bare `ws` broadcast of the same frame (no subscriptions, no filters, no slow-client
 * handling): the ceiling of the socket work on this machine. Bench only.
 */
import { createServer } from "node:http";
import { keyString, type LiveChange } from "@pulse/contracts";
import { connectNats, DeliverPolicy, jetstream, jetstreamManager } from "@pulse/nats";
import { Server } from "socket.io";
import { WebSocketServer } from "ws";

const [kind, port, stream, natsUrl] = process.argv.slice(2) as ["sio" | "ws", string, string, string];
const http = createServer();
let broadcast: (frame: Buffer) => void;
if (kind === "sio") {
  const ioServer = new Server(http, { transports: ["websocket"], serveClient: false, perMessageDeflate: false });
  ioServer.on("connection", (s) => void s.join("all"));
  broadcast = (frame) => ioServer.to("all").emit("delta", frame.toString());
} else {
  const wss = new WebSocketServer({ server: http, path: "/live" });
  broadcast = (frame) => {
    for (const ws of wss.clients) ws.send(frame, { binary: false });
  };
}
http.listen(Number(port), "127.0.0.1");

const nc = await connectNats(natsUrl, `bench-baseline-${kind}`);
const js = jetstream(nc);
const last = (await (await jetstreamManager(nc)).streams.info(stream)).state.last_seq;
const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: last + 1 });
const pending = new Map<string, string>();
let seq = last;
setInterval(() => {
  if (pending.size === 0) return;
  const frame = Buffer.from(`{"type":"delta","seq":${seq},"entries":[${[...pending.values()].join(",")}]}`);
  pending.clear();
  broadcast(frame);
}, 100);
process.send?.({ ok: "ready" });
for await (const m of await consumer.consume({ max_messages: 2_000 })) {
  const c = m.json<LiveChange>();
  seq = m.seq;
  for (const e of c.entries)
    pending.set(
      `${c.metric}\u0000${keyString(e.key)}`,
      `{"metric":${JSON.stringify(c.metric)},"key":${JSON.stringify(e.key)},"value":${JSON.stringify(e.value)},"version":${c.change_id}}`,
    );
}
