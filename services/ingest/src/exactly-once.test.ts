import { consumerName, feeds } from "@pulse/contracts";
import { feedStream, jetstreamManager } from "@pulse/nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestHarness, make, type Harness } from "./test-harness";

let h: Harness;
beforeAll(async () => {
  h = await ingestHarness("once");
});
afterAll(async () => {
  await h?.close();
});

describe("effectively once", () => {
  it("counts an event sent again without Nats-Msg-Id once (only ingest can tell)", async () => {
    await h.publish("egov", "dvc", make.egov("dossier-1:received", "received"), { msgId: false });
    await h.publish("esign", "edoc", make.esign("doc-1", true), { msgId: false });
    await h.publish("subscribers", "viettel", make.subscribers("r-1", "mobile", 1000), { msgId: false });
    await h.settle();
    const before = await h.figures();
    await h.publish("egov", "dvc", make.egov("dossier-1:received", "received"), { msgId: false });
    await h.publish("esign", "edoc", make.esign("doc-1", true), { msgId: false });
    await h.publish("subscribers", "viettel", make.subscribers("r-1", "mobile", 1000), { msgId: false });
    await h.settle();
    expect(await h.figures()).toEqual(before);
    expect(before.egov.filter((r) => r.grain === "day")).toEqual([expect.objectContaining({ status: "received", count: 1 })]);
    expect(before.esign.filter((r) => r.grain === "day")).toEqual([expect.objectContaining({ signed: true, count: 1 })]);
    const events = await h.ingest!.metrics.events.get();
    const dup = events.values.filter((v) => v.labels.outcome === "duplicate").reduce((n, v) => n + v.value, 0);
    expect(dup).toBe(3);
  });

  it("drops a duplicate publish at JetStream when Nats-Msg-Id repeats", async () => {
    const a = await h.publish("egov", "dvc", make.egov("dossier-2:received", "received"));
    const b = await h.publish("egov", "dvc", make.egov("dossier-2:received", "received"));
    expect(a.duplicate).toBe(false);
    expect(b.duplicate).toBe(true);
    await h.settle();
    expect(await h.count("egov_counts", "grain = 'day' AND status = 'received'")).toBe(1);
    const r = await h.figures();
    expect(r.egov.find((x) => x.grain === "day")!.count).toBe(2);
  });

  it("applies a message redelivered after a nak once", async () => {
    await h.stopIngest();
    await h.publish("egov", "dvc", make.egov("dossier-3:received", "received"));
    // Another client takes the message from ingest's consumer (a one-message pull, nothing
    // left open) and naks it: it comes back with a delivery count of 2.
    const c = await h.js.consumers.get(feedStream(h.names, "egov"), consumerName("egov", h.names.consumerPrefix));
    const m = await c.next({ expires: 5_000 });
    expect(m?.info.deliveryCount).toBe(1);
    m!.nak();
    await h.startIngest();
    await h.settle();
    const r = await h.figures();
    expect(r.egov.find((x) => x.grain === "day")!.count).toBe(3);
    const red = await h.ingest!.metrics.redeliveries.get();
    expect(red.values.reduce((n, v) => n + v.value, 0)).toBeGreaterThanOrEqual(1);
  });

  it("changes no figure when the whole stream is replayed from its start", async () => {
    await h.publish("bts", "viettel", make.bts("b-1", "NA-0001", "down"));
    await h.publish("bts", "viettel", make.bts("b-2", "NA-0001", "up", { ts: "2026-11-26T09:20:00+07:00" }));
    await h.publish("esign", "edoc", make.esign("doc-1", false, { revision: 1 }));
    await h.settle();
    const before = await h.figures();
    const changesBefore = await h.count("changes");

    // Replay: drop every feed consumer; ingest recreates them delivering from the first message.
    await h.stopIngest();
    const jsm = await jetstreamManager(h.nc);
    for (const f of feeds) await jsm.consumers.delete(feedStream(h.names, f), consumerName(f, h.names.consumerPrefix));
    await h.startIngest();
    await h.settle();
    expect(await h.figures()).toEqual(before);
    // Nothing changed, so nothing new went to the change log either.
    expect(await h.count("changes")).toBe(changesBefore);
    const events = await h.ingest!.metrics.events.get();
    const replayed = events.values.filter((v) => v.labels.outcome === "duplicate").reduce((n, v) => n + v.value, 0);
    expect(replayed).toBeGreaterThanOrEqual(8);
  });

  it("labels the versions of one record in one batch as if each had come alone, in arrival order", async () => {
    const outcomes = async (stored: number | null, batch: [number, boolean][], id: string) => {
      if (stored !== null) {
        await h.publish("egov", "dvc", make.egov(id, "received", { revision: stored }));
        await h.settle();
      }
      await h.stopIngest();
      for (const [revision, msgId] of batch) await h.publish("egov", "dvc", make.egov(id, "received", { revision }), { msgId });
      const ingest = await h.startIngest();
      await h.settle();
      const events = await ingest.metrics.events.get();
      const by = (o: string) => events.values.filter((v) => v.labels.outcome === o).reduce((n, v) => n + v.value, 0);
      return { inserted: by("inserted"), restated: by("restated"), duplicate: by("duplicate") };
    };
    // Stored 1; then 0 and 2: 0 is a duplicate.
    expect(
      await outcomes(
        1,
        [
          [0, true],
          [2, true],
        ],
        "v-a:received",
      ),
    ).toEqual({ inserted: 0, restated: 1, duplicate: 1 });
    // Stored 1; then 2, 2 again (no Msg-Id), 3.
    expect(
      await outcomes(
        1,
        [
          [2, true],
          [2, false],
          [3, true],
        ],
        "v-b:received",
      ),
    ).toEqual({ inserted: 0, restated: 2, duplicate: 1 });
    // New; 0, 0 again, 1.
    expect(
      await outcomes(
        null,
        [
          [0, true],
          [0, false],
          [1, true],
        ],
        "v-c:received",
      ),
    ).toEqual({ inserted: 1, restated: 1, duplicate: 1 });
    // Stored 1; then 3 and, late, 2.
    expect(
      await outcomes(
        1,
        [
          [3, true],
          [2, true],
        ],
        "v-d:received",
      ),
    ).toEqual({ inserted: 0, restated: 1, duplicate: 1 });
  });
});
