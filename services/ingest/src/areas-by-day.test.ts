/**
 * Through ingest, over JetStream, into Postgres: areas, agencies and the district level are judged
 * on each record's own UTC+7 day. Each refusal is stored with its reason and told on
 * `rejects.<source>`; history dated when a district was in force lands by district; a dossier
 * received at district level before the cut-over is resolved in its commune after it.
 * "Today" is this test's clock.
 */
import { sql } from "@pulse/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ingestHarness, make, type Harness } from "./test-harness";

let h: Harness;
beforeAll(async () => {
  h = await ingestHarness("areas-by-day");
});
afterAll(async () => {
  await h?.close();
});

const hour = 3_600_000;
/** `ms` written in UTC+7, as the province's producers write it. */
const at = (ms: number) => `${new Date(ms + 7 * hour).toISOString().slice(0, 19)}+07:00`;

describe("areas by the record's day, through ingest", () => {
  it("refuses retired and not-yet-in-force areas, ended agencies and the district level; takes history by district", async () => {
    const now = at(Date.now() - 60_000);
    const refused: [string, string, ReturnType<(typeof make)[keyof typeof make]>, string, RegExp][] = [
      [
        "subscribers",
        "viettel",
        make.subscribers("r-426", "mobile", 5, { area: "426", ts: now }),
        "retired_area",
        /^area 426 \(Huyện Yên Thành\) is not in force since 2025-07-01; on \d{4}-\d\d-\d\d its ground is in 17506 Xã Yên Thành, /,
      ],
      [
        "bts",
        "vinaphone",
        make.bts("r-413", "NA-413", "down", { area: "413", ts: now }),
        "retired_area",
        /16681 Phường Thành Vinh, 16690 Phường Trường Vinh, 16702 Phường Vinh Phú, 16708 Phường Vinh Lộc, 16732 Phường Cửa Lò, 17920 Phường Vinh Hưng: send/,
      ],
      [
        "subscribers",
        "viettel",
        make.subscribers("r-early", "mobile", 5, { area: "16732", ts: "2025-06-30T12:00:00+07:00" }),
        "unknown_area",
        /is in force from 2025-07-01, not on the record's date 2025-06-30: on that date its ground was in 412 Thành phố Vinh$/,
      ],
      [
        "subscribers",
        "mobifone",
        make.subscribers("r-elsewhere", "mobile", 5, { area: "380", ts: now }),
        "unknown_area",
        /not a code of this province on any date/,
      ],
      [
        "esign",
        "edoc",
        make.esign("r-tttt", true, { agency: "so-tttt", ts: now }),
        "retired_agency",
        /^agency so-tttt \(Sở Thông tin và Truyền thông\) ended on 2025-02-28; its work is with so-khcn/,
      ],
      [
        "egov",
        "dvc",
        { ...make.egov("r-huyen:received", "received", { ts: now }), data: { ...make.egov("x", "received").data, agency: "ubnd-huyen" } },
        "retired_agency",
        /^agency ubnd-huyen \(UBND cấp huyện\) ended on 2025-06-30; its work is with ubnd-xa/,
      ],
      [
        "egov",
        "dvc",
        {
          ...make.egov("r-level:received", "received", { area: "17506", ts: "2025-07-02T09:00:00+07:00" }),
          data: { ...make.egov("x", "received").data, level: "district" },
        },
        "retired_level",
        /^level district ended on 2025-06-30: a dossier received after it is at commune or province level$/,
      ],
    ];
    const told = h.rejects.length;
    for (const [feed, source, env] of refused) await h.publish(feed, source, env);

    // History: a reading for Yên Thành dated when it was a district, and one dossier across the cut-over.
    await h.publish("subscribers", "viettel", make.subscribers("h-426", "mobile", 123, { area: "426", ts: "2025-05-01T09:00:00+07:00" }));
    const district = { procedure: "1.004227", agency: "ubnd-huyen", level: "district", channel: "in_person" };
    await h.publish("egov", "dvc", {
      id: "H40.26-3006-0001:received",
      area: "426",
      ts: "2025-06-30T10:00:00+07:00",
      data: { ...district, status: "received" },
    });
    await h.publish("egov", "dvc", {
      id: "H40.26-3006-0001:resolved_on_time",
      area: "17506",
      ts: "2025-07-03T15:00:00+07:00",
      data: { ...district, agency: "ubnd-xa", status: "resolved_on_time" },
    });
    // Today, in the commune.
    await h.publish("subscribers", "viettel", make.subscribers("t-17506", "mobile", 77, { area: "17506", ts: now }));
    await h.settle();

    const letters = (
      await sql<{ subject: string; reason: string; detail: string }>`SELECT subject, reason, detail FROM dead_letters`.execute(h.db.db)
    ).rows;
    expect(letters).toHaveLength(refused.length);
    for (const [feed, source, env, reason, detail] of refused) {
      const l = letters.find((x) => x.subject === `feeds.${feed}.${source}` && x.detail.length > 0 && detail.test(x.detail));
      expect(l, `${env.id}: ${JSON.stringify(letters)}`).toMatchObject({ reason });
    }
    await new Promise((r) => setTimeout(r, 200));
    const rejects = h.rejects.slice(told).map((r) => [r.subject.split(".").at(-1), r.body.id, r.body.reason]);
    expect(rejects.sort()).toEqual(refused.map(([, source, env, reason]) => [source, env.id, reason]).sort());

    const f = await h.figures();
    expect(f.subscribers).toEqual([
      { source: "viettel", service: "mobile", area: "17506", count: 77 },
      { source: "viettel", service: "mobile", area: "426", count: 123 },
    ]);
    const dossier = f.egov
      .filter((r) => r.grain === "day")
      .map((r) => [r.bucket.toISOString(), r.area, r.level, r.agency, r.status, r.count]);
    // Day buckets are UTC+7 midnights.
    expect(dossier).toEqual([
      ["2025-06-29T17:00:00.000Z", "426", "district", "ubnd-huyen", "received", 1],
      ["2025-07-02T17:00:00.000Z", "17506", "district", "ubnd-xa", "resolved_on_time", 1],
    ]);
  });
});
