/**
 * What a team would otherwise pick: a minimal socket.io 4 server that follows LIVE, coalesces
 * per key on the same 100 ms tick and broadcasts the same delta frame to one room. Argv: port,
 * LIVE stream name. Bench only.
 */
import { createServer } from "node:http";
import { keyString, type LiveChange } from "@pulse/contracts";
import { connectNats, DeliverPolicy, jetstream } from "@pulse/nats";
import { Server } from "socket.io";

const [port, stream, natsUrl] = process.argv.slice(2) as [string, string, string];
const http = createServer();
const ioServer = new Server(http, { transports: ["websocket"], serveClient: false, perMessageDeflate: false });
ioServer.on("connection", (s) => void s.join("all"));
http.listen(Number(port), "127.0.0.1");

const nc = await connectNats(natsUrl, "bench-socketio");
const js = jetstream(nc);
const jsm = await (await import("@pulse/nats")).jetstreamManager(nc);
const last = (await jsm.streams.info(stream)).state.last_seq;
const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: last + 1 });
const pending = new Map<string, string>();
let seq = last;
setInterval(() => {
  if (pending.size === 0) return;
  const frame = `{"type":"delta","seq":${seq},"entries":[${[...pending.values()].join(",")}]}`;
  pending.clear();
  ioServer.to("all").emit("delta", frame);
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
