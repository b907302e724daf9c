/**
 * The soak's auditor, in a process of its own (so the load's process cannot make it slow): one
 * client subscribed to every change-log topic, holding per key the value of the highest version,
 * as a wall screen does. Closed by the gateway (1013 when it fell behind, 1001 on a restart) it
 * reconnects with `since`, as the protocol says a client should, and keeps what it held.
 *
 * IPC in: {cmd:"start", url}, {cmd:"report"}, {cmd:"values"}, {cmd:"close"}.
 * Out: {ok:"ready"}, {ok:"started"}, {report:{seq, events, reconnects, closes, resets}}, {values}.
 */
import { allLogTopics, clientValues, LiveClient } from "@pulse/live/testing";

let client: LiveClient | null = null;
let reconnects = 0;
const closes: number[] = [];
let resets = 0;
let stopping = false;

async function open(url: string, from: LiveClient | null): Promise<void> {
  const c = LiveClient.connect(url);
  if (from) {
    for (const [k, v] of from.values) c.values.set(k, v);
    c.seq = from.seq;
  }
  client = c;
  await c.opened;
  c.subscribe("all", allLogTopics, from ? { since: from.seq } : {});
  const first = await c.next((f) => f.type === "snapshot" || f.type === "resumed", 60_000);
  if (first.type === "snapshot" && first.reset) resets++;
  void c.closed.then((code) => {
    closes.push(code);
    if (stopping) return;
    reconnects++;
    setTimeout(() => void open(url, c).catch(() => {}), 200);
  });
}

process.on("message", (m: { cmd: string; url?: string }) => {
  switch (m.cmd) {
    case "start":
      void open(m.url!, null).then(() => process.send!({ ok: "started" }));
      break;
    case "report": {
      let events = 0;
      for (const v of client?.metric("feed").values() ?? []) events += (v as { events: number }).events;
      process.send!({ report: { seq: client?.seq ?? 0, events, reconnects, closes, resets } });
      break;
    }
    case "values":
      process.send!({ values: client ? clientValues(client) : {} });
      break;
    case "close":
      stopping = true;
      void client?.close().finally(() => process.exit(0));
      break;
  }
});
process.send!({ ok: "ready" });
