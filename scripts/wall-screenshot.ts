/**
 * `pnpm wall:screenshot`: the wall screen with the article's figures, saved to docs/wall.png
 * (1920×1080). The figures go through the real pipeline: published to NATS, committed by ingest,
 * relayed to LIVE and pushed by a gateway to headless Chromium. Needs what the tests need: the
 * machine's Postgres (PULSE_TEST_PG_URL) and NATS (PULSE_TEST_NATS_URL), and /usr/bin/chromium
 * (CHROMIUM_PATH). WALL_SHOT_OUT changes the output file; WALL_SHOT_LANG=en shoots in English;
 * WALL_SHOT_VIEW=table shoots the commune table (sorted by stations down).
 */
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { launchChromium } from "../test/support/chromium";
import { areaMap, baselines, localDayNumber, simulation } from "@pulse/seeds";
import { ingestHarness, type Envelope } from "@pulse/ingest/test-harness";
import { loadConfig, startLive } from "@pulse/live";
import { apportion, mulberry32 } from "@pulse/simulator";

const out = resolve(process.env.WALL_SHOT_OUT ?? "docs/wall.png");
const lang = process.env.WALL_SHOT_LANG === "en" ? "en" : "vi";
const view = process.env.WALL_SHOT_VIEW === "table" ? "table" : "tiles";
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19) + "+07:00";

type Pub = { feed: string; source: string; env: Envelope };

/**
 * The article's figures (seed/FIGURES.md) as feed events, spread over the 130 communes in force on
 * `now`'s day and the carriers: each commune weighted by the simulator's assumed households of its
 * former district, split evenly (no source gives figures per commune).
 */
export function articleFixture(now: number): Pub[] {
  // Deterministic, so every run draws the same screen.
  const rnd = mulberry32(2024);
  const pubs: Pub[] = [];
  const districts = areaMap.leavesOn(localDayNumber(now));
  const assumed = simulation.assumed_district_households as Record<string, number | string>;
  const perFd = new Map<string, number>();
  for (const c of districts) perFd.set(c.former_district ?? c.code, (perFd.get(c.former_district ?? c.code) ?? 0) + 1);
  const weights = districts.map((c) => {
    const fd = c.former_district ?? c.code;
    return (Number(assumed[fd] ?? 20_000) + (fd === "412" ? Number(assumed["413"] ?? 0) : 0)) / perFd.get(fd)!;
  });
  const vinh = districts.filter((c) => (c.former_district ?? c.code) === "412");
  const ts = local(now - 30_000);
  const carriers = ["viettel", "vinaphone", "mobifone", "vietnamobile"] as const;
  const shares: Record<string, number[]> = {
    mobile: [0.53, 0.24, 0.17, 0.06],
    mobile_broadband: [0.55, 0.23, 0.17, 0.05],
    fixed_broadband: [0.47, 0.41, 0.12, 0],
    ftth: [0.48, 0.42, 0.1, 0],
  };
  const totals: Record<string, number> = {
    mobile: baselines.mobile_subscribers!,
    mobile_broadband: baselines.mobile_broadband_subscribers!,
    fixed_broadband: baselines.fixed_broadband_subscribers!,
    ftth: baselines.ftth_households!,
  };
  for (const service of Object.keys(totals)) {
    const byCarrier = apportion(totals[service]!, shares[service]!);
    carriers.forEach((c, ci) => {
      if (byCarrier[ci] === 0) return;
      apportion(byCarrier[ci]!, weights).forEach((count, di) => {
        pubs.push({
          feed: "subscribers",
          source: c,
          env: { id: `sub-${service}-${districts[di]!.code}`, ts, area: districts[di]!.code, data: { service, count } },
        });
      });
    });
  }

  // 8,176 stations: 106 of them 5G (Viettel, Vinh city); a few down, for minutes to hours.
  const techTotals: [string, number][] = [
    ["2G", 1_588],
    ["3G", 2_244],
    ["4G", 4_238],
  ];
  const stationShares = [0.44, 0.27, 0.21, 0.08];
  let n = 0;
  const stations: { source: string; station: string; tech: string; area: string }[] = [];
  for (const [tech, total] of techTotals) {
    apportion(total, stationShares).forEach((count, ci) => {
      apportion(count, weights).forEach((k, di) => {
        for (let i = 0; i < k; i++) {
          const area = districts[di]!.code;
          stations.push({ source: carriers[ci]!, station: `${area}-${tech}-${String(++n).padStart(5, "0")}`, tech, area });
        }
      });
    });
  }
  for (let i = 0; i < baselines.bts_5g!; i++)
    stations.push({ source: "viettel", station: `NA-5G-${String(i + 1).padStart(4, "0")}`, tech: "5G", area: vinh[i % vinh.length]!.code });
  const downAgoMin = [312, 187, 96, 64, 41, 27, 18, 11, 6, 3, 2];
  const down = new Map<number, number>();
  for (const ago of downAgoMin) {
    let i: number;
    do i = Math.floor(rnd() * stations.length);
    while (down.has(i));
    down.set(i, ago);
  }
  stations.forEach((s, i) => {
    const ago = down.get(i);
    const status = ago !== undefined ? "down" : rnd() < 0.004 ? "degraded" : "up";
    const at = ago !== undefined ? local(now - ago * 60_000 - Math.floor(rnd() * 50_000)) : ts;
    pubs.push({
      feed: "bts",
      source: s.source,
      env: { id: `bts-${s.station}`, ts: at, area: s.area, data: { station: s.station, tech: s.tech, status } },
    });
  });

  // Today (UTC+7) since 07:30: e-documents (about 95.8 % signed) and dossier steps.
  const dayStart = Math.floor((now + 7 * 3_600_000) / 86_400_000) * 86_400_000 - 7 * 3_600_000;
  const open = Math.min(dayStart + 7.5 * 3_600_000, now - 3_600_000);
  const span = now - 20_000 - open;
  const provincial = [
    "so-khcn",
    "so-nn-mt",
    "so-tai-chinh",
    "so-tu-phap",
    "so-cong-thuong",
    "so-xay-dung",
    "so-yte",
    "so-gddt",
    "so-tai-chinh",
    "ubnd-tinh",
  ];
  // Exactly 1,771 of 1,846 signed (95.9 %), in a shuffled order.
  const signedIdx = new Set(
    Array.from({ length: 1_846 }, (_, i) => i)
      .sort(() => rnd() - 0.5)
      .slice(0, 1_771),
  );
  for (let i = 0; i < 1_846; i++) {
    const district = rnd() < 0.45;
    pubs.push({
      feed: "esign",
      source: "edoc",
      env: {
        id: `doc-${i}`,
        ts: local(open + Math.floor(rnd() * span)),
        area: district ? districts[Math.floor(rnd() * districts.length)]!.code : "40",
        data: {
          agency: district ? "ubnd-xa" : provincial[Math.floor(rnd() * provincial.length)]!,
          doc: `VB-${i}`,
          signed: signedIdx.has(i),
          signer: rnd() < 0.16 ? "organization" : "personal",
        },
      },
    });
  }
  // Dossiers: the last hour busier (about 9 a minute), earlier steps spread over the day.
  for (let i = 0; i < 2_430; i++) {
    const recent = i < 560;
    const t = recent ? now - 15_000 - Math.floor(rnd() * 3_600_000) : open + Math.floor(rnd() * Math.max(1, span - 3_600_000));
    const r = rnd();
    const channel = r < 0.54 ? "online_full" : r < 0.83 ? "online_partial" : "in_person";
    const area = districts[Math.floor(rnd() * districts.length)]!.code;
    const level = rnd() < 0.3 ? "province" : "commune";
    const base = { procedure: "thu-tuc", agency: level === "province" ? "so-khcn" : "ubnd-xa", level, channel };
    pubs.push({ feed: "egov", source: "dvc", env: { id: `hs-${i}:received`, ts: local(t), area, data: { ...base, status: "received" } } });
    if (!recent && rnd() < 0.55) {
      const status = rnd() < 0.955 ? "resolved_on_time" : rnd() < 0.7 ? "resolved_late" : "rejected";
      pubs.push({
        feed: "egov",
        source: "dvc",
        env: { id: `hs-${i}:done`, ts: local(Math.min(now - 10_000, t + 3_600_000)), area, data: { ...base, status } },
      });
    }
  }
  return pubs;
}

async function main() {
  const h = await ingestHarness("wall_shot");
  const live = await startLive(
    loadConfig(
      {
        DATABASE_URL: h.database.url,
        NATS_URL: h.config.natsUrl,
        LIVE_PORT: "0",
        LIVE_ADMIN_PORT: "0",
        LIVE_HEARTBEAT_MS: "1000",
        LOG_LEVEL: "error",
      },
      { names: h.names },
    ),
  );
  const browser = await launchChromium();
  try {
    const pubs = articleFixture(Date.now());
    for (let i = 0; i < pubs.length; i += 1000) {
      await Promise.all(pubs.slice(i, i + 1000).map((p) => h.publish(p.feed, p.source, p.env)));
    }
    await h.settle(120_000);
    const page = await browser.newPage({ viewport: { width: 1920, height: 1080 }, deviceScaleFactor: 1 });
    await page.goto(`http://127.0.0.1:${live.port}/?lang=${lang}${view === "table" ? "&view=table" : ""}`);
    await page.locator('#link[data-state="live"]').waitFor({ timeout: 30_000 });
    // Two heartbeats: the server's time known, every tile rendered, the sparkline drawn.
    await page.waitForTimeout(2_500);
    if (view === "table") {
      await page.click('#table-view th[data-col="btsDown"]');
      await page.waitForTimeout(500);
    }
    mkdirSync(dirname(out), { recursive: true });
    await page.screenshot({ path: out });
    console.log(`wrote ${out} (${pubs.length} events through the pipeline)`);
  } finally {
    await browser.close();
    await live.close();
    await h.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
