/**
 * NATS stops in the middle of a POST (a private nats-server): the lines stored before are
 * settled, the rest are `not_sent` (partial success); while it is down a new POST gets 503; once
 * it is back, the same POST again lands each line exactly once.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { startNatsServer, type NatsServer } from "@pulse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { curl, curlBin, post, startDoor, type Door } from "./support/feeds-http";

const sub = (id: string, count: number) =>
  JSON.stringify({ v: 1, id, source: "viettel", ts: "2026-11-26T09:15:00+07:00", area: "16681", data: { service: "mobile", count } });
const lines = Array.from({ length: 400 }, (_, i) => sub(`nf-${i + 1}`, i + 1));

let nats: NatsServer;
let h: Harness;
let d: Door;
beforeAll(async () => {
  nats = await startNatsServer();
  h = await ingestHarness("feeds_http_fault", { natsUrl: nats.url });
  d = await startDoor(h, ["viettel"], { FEEDS_HTTP_IN_FLIGHT: "50", FEEDS_HTTP_SETTLE_MS: "20000" });
});
afterAll(async () => {
  await d?.close().catch(() => {});
  await h?.close().catch(() => {});
  await nats?.stop();
});

it("NATS stopped mid-request: partial success, 503 while down, then a retry lands each line once", async () => {
  // curl streams its standard input as a chunked body: half now, half once NATS is down.
  const child = spawn(curlBin, [
    "-sS",
    "-X",
    "POST",
    "-H",
    `Authorization: Bearer ${d.tokens.viettel}`,
    "-H",
    "Content-Type: application/x-ndjson",
    "-H",
    "Transfer-Encoding: chunked",
    "-T",
    "-",
    `${d.url}/v1/feeds/subscribers`,
  ]);
  let out = "";
  child.stdout.on("data", (b) => (out += b.toString()));
  const done = new Promise<number>((resolve) => child.on("close", (code) => resolve(code ?? -1)));
  child.stdin.write(lines.slice(0, 200).join("\n") + "\n");
  // Let the first half be published and settled.
  for (const until = Date.now() + 10_000; (await h.count("events")) < 200 && Date.now() < until;)
    await new Promise((r) => setTimeout(r, 50));
  expect(await h.count("events")).toBe(200);
  await nats.down();
  child.stdin.end(lines.slice(200).join("\n") + "\n");
  expect(await done).toBe(0);
  const first = JSON.parse(out);
  expect(first.accepted).toBe(200);
  expect(first.not_sent).toBe(200);
  expect(first.results.slice(0, 200).every((r: { outcome: string }) => r.outcome === "accepted")).toBe(true);
  expect(first.results[200]).toMatchObject({ line: 201, id: "nf-201", outcome: "not_sent" });

  const file = join(d.dir, "all.ndjson");
  writeFileSync(file, lines.join("\n"));
  const down = await curl(post(d, "subscribers", d.tokens.viettel!, file));
  expect(down.status).toBe(503);
  expect(Number(down.headers["retry-after"])).toBeGreaterThan(0);

  await nats.up();
  // The door and ingest reconnect by themselves.
  let retry;
  for (const until = Date.now() + 20_000; ;) {
    retry = await curl(post(d, "subscribers", d.tokens.viettel!, file));
    if (retry.status === 200 || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(retry.status).toBe(200);
  expect(retry.json).toMatchObject({ accepted: 200, duplicate: 200, refused: 0, unsettled: 0, not_sent: 0 });
  await h.settle();
  expect(await h.count("events")).toBe(400);
  expect(await h.count("events", "id = 'nf-201'")).toBe(1);
});
