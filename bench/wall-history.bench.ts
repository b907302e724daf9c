/**
 * `pnpm bench:wall` — not a test: the wall's snapshot size and its first figure, measured with
 * BENCH_HISTORY_DAYS (default 31) days of simulated history at the 130 communes in the database
 * (bench/support/live-history.ts), not on a fresh start.
 *
 * 1. The gateway (in this process) reads the state; its key count is printed.
 * 2. A ws client subscribes as the wall does (`rollup`, `kpi`, `egov_minute`, `freshness`, and
 *    the stations down): the snapshot's size as text, and as written (permessage-deflate). For
 *    comparison, the subscription the wall had before (raw subscriber, station-count and day keys).
 * 3. Headless Chromium opens the wall: milliseconds from navigation to the first figure on
 *    screen (mobile subscribers, province), cold and again warm; BENCH_WALL_RUNS (default 3) each.
 *    BENCH_WALL_BASELINE=<dir>: the same for another wall folder served by a second gateway on the
 *    same state, turn about (e.g. the wall before the commune change, `git archive <ref>
 *    services/live/wall`): on a shared machine the ratio says more than the milliseconds.
 * Runs on the machine's Postgres and NATS (PULSE_TEST_PG_URL, PULSE_TEST_NATS_URL) in a fresh
 * database and fresh streams, removed afterwards.
 */
import { createDb } from "@pulse/db";
import { loadConfig, startLive } from "@pulse/live";
import { LiveClient } from "@pulse/live/testing";
import { allStreams, connectNats, ensureStreams, jetstreamManager, testStreamNames } from "@pulse/nats";
import { createTestDatabase, sharedNatsUrl, uniqueTag } from "@pulse/testkit";
import { launchChromium } from "../test/support/chromium";
import { seedHistory } from "./support/live-history";

const DAYS = Number(process.env.BENCH_HISTORY_DAYS ?? 31);
const RUNS = Number(process.env.BENCH_WALL_RUNS ?? 3);
const tag = uniqueTag("wallbench");
const names = testStreamNames(tag);
const database = await createTestDatabase(tag);
const natsUrl = sharedNatsUrl();
const nc = await connectNats(natsUrl, "bench-wall");
await ensureStreams(nc, { names });
const db = createDb({ url: database.url, poolMax: 2 });
const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
const metric = async (port: number, name: string) => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(
    text
      .split("\n")
      .find((l) => l.startsWith(name + " "))
      ?.split(" ")[1] ?? NaN,
  );
};

try {
  const t0 = performance.now();
  const seeded = await seedHistory(db, { days: DAYS });
  console.log(
    `history: ${DAYS} days at 130 communes seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s: ` +
      `${seeded.gauges} gauges, ${seeded.stations} stations, ${seeded.esignDayKeys} e-document day keys, ` +
      `${seeded.egovDayKeys} dossier day keys, ${seeded.minuteKeys} minute keys`,
  );
  const s0 = performance.now();
  const live = await startLive(
    loadConfig(
      { DATABASE_URL: database.url, NATS_URL: natsUrl, LIVE_PORT: "0", LIVE_ADMIN_PORT: "0", LIVE_HOST: "127.0.0.1", LOG_LEVEL: "error" },
      { names },
    ),
  );
  console.log(
    `gateway: state read and serving in ${Math.round(performance.now() - s0)} ms, ${await metric(live.adminPort, "pulse_live_keys")} keys held`,
  );

  const snapshotBytes = async (subs: { id: string; topics: string[]; filter?: Record<string, string> }[], deflate: boolean) => {
    const before = await metric(live.adminPort, "pulse_live_bytes_total");
    const c = LiveClient.connect(`ws://127.0.0.1:${live.port}/live`, { deflate });
    let text = 0;
    let entries = 0;
    c.ws.on("message", (d) => {
      const s = d.toString();
      if (s.startsWith('{"type":"snapshot"')) {
        text += Buffer.byteLength(s);
        entries += (JSON.parse(s) as { entries: unknown[] }).entries.length;
      }
    });
    await c.opened;
    for (const s of subs) c.subscribe(s.id, s.topics, s.filter ? { filter: s.filter } : {});
    for (const s of subs) await c.next((f) => f.type === "snapshot" && f.id === s.id, 30_000);
    await new Promise((r) => setTimeout(r, 200));
    const written = (await metric(live.adminPort, "pulse_live_bytes_total")) - before;
    await c.close();
    return { text, entries, written };
  };
  const wall = [
    { id: "wall", topics: ["rollup", "kpi", "egov_minute", "freshness"] },
    { id: "wall-down", topics: ["bts_station"], filter: { status: "down" } },
  ];
  const before = [
    { id: "wall", topics: ["subscribers", "bts_stations", "esign_day", "egov_day", "egov_minute", "kpi", "freshness"] },
    { id: "wall-down", topics: ["bts_station"], filter: { status: "down" } },
  ];
  const now = await snapshotBytes(wall, true);
  const old = await snapshotBytes(before, true);
  console.log(`wall snapshot: ${now.entries} entries, ${kb(now.text)} as text, ${kb(now.written)} written (deflate) — bound 1 MiB`);
  console.log(
    `  the subscription the wall had before (raw gauges, station counts, ${DAYS} days of day keys): ${old.entries} entries, ${kb(old.text)} as text, ${kb(old.written)} written`,
  );

  const baselineDir = process.env.BENCH_WALL_BASELINE;
  const baseline = baselineDir
    ? await startLive(
        loadConfig(
          {
            DATABASE_URL: database.url,
            NATS_URL: natsUrl,
            LIVE_PORT: "0",
            LIVE_ADMIN_PORT: "0",
            LIVE_HOST: "127.0.0.1",
            LOG_LEVEL: "error",
          },
          { names, wallDir: baselineDir.endsWith("/") ? baselineDir : `${baselineDir}/` },
        ),
      )
    : null;
  const browser = await launchChromium();
  try {
    const times = new Map<string, { cold: number[]; warm: number[] }>();
    const walls: [string, number][] = [
      ["this wall", live.port],
      ...(baseline ? ([["baseline wall", baseline.port]] as [string, number][]) : []),
    ];
    const warm = new Map<string, Awaited<ReturnType<typeof browser.newContext>>>();
    for (const [name] of walls) {
      times.set(name, { cold: [], warm: [] });
      warm.set(name, await browser.newContext({ viewport: { width: 1920, height: 1080 } }));
    }
    for (let i = 0; i < RUNS; i++) {
      for (const [name, port] of walls) {
        for (const kind of ["cold", "warm"] as const) {
          const ctx = kind === "cold" ? await browser.newContext({ viewport: { width: 1920, height: 1080 } }) : warm.get(name)!;
          const page = await ctx.newPage();
          const t = performance.now();
          await page.goto(`http://127.0.0.1:${port}/`);
          await page.waitForFunction(
            () => {
              const el = (
                globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }
              ).document.querySelector('#t-mobile [data-v="value"]');
              return el !== null && /\d/.test(el.textContent);
            },
            undefined,
            { timeout: 30_000, polling: 10 },
          );
          times.get(name)![kind].push(performance.now() - t);
          if (kind === "cold") await ctx.close();
          else await page.close();
        }
      }
    }
    const fmt = (xs: number[]) => xs.map((x) => `${Math.round(x)} ms`).join(", ");
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    for (const [name, t] of times)
      console.log(
        `first figure, ${name} (navigation → province mobile subscribers shown): cold ${fmt(t.cold)}; warm ${fmt(t.warm)} — bound 2 s`,
      );
    if (baseline) {
      const a = times.get("this wall")!;
      const b = times.get("baseline wall")!;
      console.log(
        `ratio this / baseline, medians: cold ${(median(a.cold) / median(b.cold)).toFixed(2)}×, warm ${(median(a.warm) / median(b.warm)).toFixed(2)}×`,
      );
    }
  } finally {
    await browser.close();
    await baseline?.close();
    await live.close();
  }
} finally {
  const jsm = await jetstreamManager(nc);
  for (const s of allStreams(names)) await jsm.streams.delete(s).catch(() => {});
  await nc.close();
  await db.close();
  await database.drop();
}
