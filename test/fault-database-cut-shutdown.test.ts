import { make, ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { consumerName } from "@pulse/contracts";
import { feedStream, jetstreamManager } from "@pulse/nats";
import { proxiedUrl, startTcpProxy, urlTarget, type TcpProxy } from "@pulse/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";

let h: Harness;
let proxy: TcpProxy | null = null;

beforeAll(async () => {
  // Ingest reaches Postgres through a proxy the test can cut; the test reads Postgres directly.
  h = await ingestHarness("dbcutstop", { start: false, config: { ackWaitMs: 3_000, probeMs: 250 } });
  proxy = await startTcpProxy(urlTarget(h.database.url));
  await h.startIngest({ databaseUrl: proxiedUrl(h.database.url, proxy) });
});
afterAll(async () => {
  await h?.close();
  await proxy?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// A dossier received in Phường Thành Vinh (16681) by its people's committee: the harness dates it 2026-11-26.
const received = (id: string) =>
  make.egov(id, "received", {
    area: "16681",
    data: { procedure: "cap-giay-phep", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received" },
  });

it("shuts down promptly during a database outage, acking nothing it did not commit", async () => {
  for (let i = 0; i < 10; i++) await h.publish("egov", "dvc", received(`before-${i}:received`));
  await h.settle();

  proxy!.cut();
  for (let i = 0; i < 25; i++) await h.publish("egov", "dvc", received(`during-${i}:received`));
  // A worker met the outage and waits it out.
  for (const until = Date.now() + 10_000; h.ingest!.health().ok && Date.now() < until;) await sleep(50);
  expect(h.ingest!.health().ok).toBe(false);

  const startedAt = Date.now();
  const stopping = h.stopIngest();
  try {
    const outcome = await Promise.race([stopping.then(() => "stopped"), sleep(5_000).then(() => "still waiting for the database")]);
    expect(outcome).toBe("stopped");
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    // Nothing of the outage was acked: the consumer's ack floor is still the last message before
    // the cut (a nak'd message counts both as pending and ack pending on 2.9, so no sum is exact).
    const info = await (
      await jetstreamManager(h.nc)
    ).consumers.info(feedStream(h.names, "egov"), consumerName("egov", h.names.consumerPrefix));
    expect(info.ack_floor.stream_seq).toBe(10);
  } finally {
    proxy!.restore();
    await stopping;
  }

  await h.startIngest({ databaseUrl: proxiedUrl(h.database.url, proxy!) });
  await h.settle();
  const f = await h.figures();
  expect(f.egov.filter((r) => r.grain === "day").map((r) => r.count)).toEqual([35]);
  expect(f.deadLetters).toEqual([]);
}, 60_000);
