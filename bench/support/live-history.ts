/**
 * Seeds a database with `days` of simulated history at the 130 communes, as ingest would have left
 * it: the current subscriber gauges (4 carriers × 4 services × each commune), 8,176 stations, and
 * for every UTC+7 day of the window the day buckets of e-documents (1,846 a day) and dossier steps
 * (2,430 received a day and their resolutions), plus today's minute buckets of the last six hours;
 * and the districts' last gauges of 30 June 2025 (history: in no current total). Written straight
 * to the tables (it is the state the gateway reads at start that matters, not how it got there).
 * For benches only: `bench:live` and `bench/wall-history.bench.ts`.
 */
import { baselines, areaMap, localDay, localDayNumber, simulation } from "@pulse/seeds";
import type { Db } from "@pulse/db";
import { mulberry32 } from "@pulse/simulator";

export interface HistoryCounts {
  gauges: number;
  stations: number;
  esignDayKeys: number;
  egovDayKeys: number;
  minuteKeys: number;
}

const dayStartMs = (day: string) => Date.parse(`${day}T00:00:00+07:00`);

export async function seedHistory(db: Db, o: { days?: number; now?: number; seed?: number } = {}): Promise<HistoryCounts> {
  const days = o.days ?? 31;
  const now = o.now ?? Date.now();
  // Deterministic, so every run seeds the same history.
  const rnd = mulberry32(o.seed ?? 31);
  const communes = areaMap.leavesOn(localDayNumber(now)).filter((a) => a.level === "commune");
  if (communes.length === 0) throw new Error("no commune in force on the bench's day");
  // Weights: the simulator's assumed households of each former district, split evenly over its communes.
  const assumed = simulation.assumed_district_households as Record<string, number | string>;
  const perFd = new Map<string, number>();
  for (const c of communes) perFd.set(c.former_district!, (perFd.get(c.former_district!) ?? 0) + 1);
  const weight = communes.map((c) => {
    const h = Number(assumed[c.former_district!] ?? 20_000) + (c.former_district === "412" ? Number(assumed["413"] ?? 0) : 0);
    return h / perFd.get(c.former_district!)!;
  });
  const wsum = weight.reduce((a, b) => a + b, 0);
  const pick = () => {
    let r = rnd() * wsum;
    for (let i = 0; i < weight.length; i++) if ((r -= weight[i]!) <= 0) return communes[i]!.code;
    return communes[communes.length - 1]!.code;
  };
  const q = (text: string, values: unknown[]) => db.pool.query(text, values);

  // --- gauges: today's by commune, the districts' last ones of 30 June 2025 ------------------
  const carriers = ["viettel", "vinaphone", "mobifone", "vietnamobile"];
  const shares: Record<string, number[]> = {
    mobile: [0.53, 0.24, 0.17, 0.06],
    mobile_broadband: [0.55, 0.23, 0.17, 0.05],
    fixed_broadband: [0.47, 0.41, 0.12, 0],
    ftth: [0.48, 0.42, 0.1, 0],
  };
  const totals: Record<string, number> = {
    mobile: baselines.mobile_subscribers ?? 3_128_167,
    mobile_broadband: baselines.mobile_broadband_subscribers ?? 2_500_000,
    fixed_broadband: baselines.fixed_broadband_subscribers ?? 600_000,
    ftth: baselines.ftth_households ?? 560_000,
  };
  const g: { source: string[]; service: string[]; area: string[]; count: number[]; ts: Date[]; id: string[] } = {
    source: [],
    service: [],
    area: [],
    count: [],
    ts: [],
    id: [],
  };
  const put = (source: string, service: string, area: string, count: number, ts: Date) => {
    g.source.push(source);
    g.service.push(service);
    g.area.push(area);
    g.count.push(count);
    g.ts.push(ts);
    g.id.push(`hist-${source}-${service}-${area}`);
  };
  const recent = new Date(now - 120_000);
  for (const [service, total] of Object.entries(totals))
    carriers.forEach((c, ci) => {
      const t = total * shares[service]![ci]!;
      if (t === 0) return;
      communes.forEach((a, i) => put(c, service, a.code, Math.round((t * weight[i]!) / wsum), recent));
    });
  const cut = new Date("2025-06-30T20:00:00+07:00");
  for (const d of areaMap.all.filter((a) => a.level === "district" && a.valid_to === "2025-06-30"))
    for (const c of carriers) for (const service of Object.keys(totals)) put(c, service, d.code, 10_000, cut);
  await q(
    `INSERT INTO subscriber_gauges (source, service, area, count, ts, revision, event_id)
     SELECT s, v, a, c, ts, 0, e FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[], $6::text[]) AS t(s, v, a, c, ts, e)
     ON CONFLICT DO NOTHING`,
    [g.source, g.service, g.area, g.count, g.ts, g.id],
  );

  // --- stations: 8,176 (106 of them 5G, Viettel, in Vinh's wards), a few down ----------------
  const st: { source: string[]; station: string[]; tech: string[]; area: string[]; status: string[]; since: Date[]; ts: Date[] } = {
    source: [],
    station: [],
    tech: [],
    area: [],
    status: [],
    since: [],
    ts: [],
  };
  const stationShares = [0.44, 0.27, 0.21, 0.08];
  let n = 0;
  const addStation = (source: string, tech: string, area: string) => {
    const down = rnd() < 0.0015;
    st.source.push(source);
    st.station.push(`NA-${tech}-${String(++n).padStart(5, "0")}`);
    st.tech.push(tech);
    st.area.push(area);
    st.status.push(down ? "down" : rnd() < 0.004 ? "degraded" : "up");
    st.since.push(new Date(now - (down ? rnd() * 6 * 3_600_000 : days * 86_400_000)));
    st.ts.push(new Date(now - rnd() * 300_000));
  };
  for (const [tech, total] of [
    ["2G", 1_588],
    ["3G", 2_244],
    ["4G", 4_238],
  ] as const)
    carriers.forEach((c, ci) => {
      for (let i = 0; i < Math.round(total * stationShares[ci]!); i++) addStation(c, tech, pick());
    });
  const vinh = communes.filter((c) => c.former_district === "412");
  for (let i = 0; i < (baselines.bts_5g ?? 106); i++) addStation("viettel", "5G", vinh[i % vinh.length]!.code);
  await q(
    `INSERT INTO bts_stations (source, station, tech, area, status, since, ts, revision, event_id)
     SELECT s, st, t, a, x, si, ts, 0, 'hist-' || st FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[]) AS u(s, st, t, a, x, si, ts)
     ON CONFLICT DO NOTHING`,
    [st.source, st.station, st.tech, st.area, st.status, st.since, st.ts],
  );

  // --- days: documents and dossier steps, aggregated into day keys ------------------------------
  const departments = ["so-khcn", "so-tu-phap", "so-xay-dung", "so-yte", "so-gddt", "so-tai-chinh", "so-nn-mt", "ubnd-tinh", "vp-ubnd"];
  const esign = new Map<string, number>();
  const egov = new Map<string, number>();
  const minutes = new Map<number, number>();
  const today = localDay(now);
  for (let k = days - 1; k >= 0; k--) {
    const day = localDay(now - k * 86_400_000);
    const bucket = new Date(dayStartMs(day)).toISOString();
    const open = dayStartMs(day) + 7.5 * 3_600_000;
    const share = day === today ? Math.max(0, Math.min(1, (now - open) / (9.5 * 3_600_000))) : 1;
    for (let i = 0; i < Math.round(1_846 * share); i++) {
      const commune = rnd() < 0.45;
      const key = [
        bucket,
        commune ? "ubnd-xa" : departments[Math.floor(rnd() * departments.length)]!,
        commune ? pick() : "40",
        rnd() < 0.959 ? "t" : "f",
        rnd() < 0.16 ? "organization" : "personal",
      ].join("|");
      esign.set(key, (esign.get(key) ?? 0) + 1);
    }
    for (let i = 0; i < Math.round(2_430 * share); i++) {
      const r = rnd();
      const channel = r < 0.54 ? "online_full" : r < 0.83 ? "online_partial" : "in_person";
      const province = rnd() < 0.3;
      const agency = province ? departments[Math.floor(rnd() * departments.length)]! : "ubnd-xa";
      const level = province ? "province" : "commune";
      const area = pick();
      const step = (status: string) => {
        const key = [bucket, agency, level, channel, status, area].join("|");
        egov.set(key, (egov.get(key) ?? 0) + 1);
      };
      step("received");
      if (day === today) {
        const t = open + rnd() * Math.max(1, now - open);
        if (now - t < 6 * 3_600_000) {
          const m = Math.floor(t / 60_000) * 60_000;
          minutes.set(m, (minutes.get(m) ?? 0) + 1);
        }
      }
      if (rnd() < 0.55) step(rnd() < 0.955 ? "resolved_on_time" : rnd() < 0.7 ? "resolved_late" : "rejected");
    }
  }
  const cols = (m: Map<string, number>, width: number) => {
    const out: unknown[][] = Array.from({ length: width + 1 }, () => []);
    for (const [k, v] of m) {
      k.split("|").forEach((x, i) => out[i]!.push(x));
      out[width]!.push(v);
    }
    return out;
  };
  const [eb, ea, ear, es, esi, ec] = cols(esign, 5);
  await q(
    `INSERT INTO esign_counts (grain, bucket, source, agency, area, signed, signer, count)
     SELECT 'day', b, 'edoc', a, ar, s = 't', si, c FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) AS u(b, a, ar, s, si, c)
     ON CONFLICT DO NOTHING`,
    [eb, ea, ear, es, esi, ec],
  );
  const [gb, ga, gl, gc, gs, gar, gn] = cols(egov, 6);
  await q(
    `INSERT INTO egov_counts (grain, bucket, source, agency, level, channel, status, area, count)
     SELECT 'day', b, 'dvc', a, l, ch, s, ar, c FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[]) AS u(b, a, l, ch, s, ar, c)
     ON CONFLICT DO NOTHING`,
    [gb, ga, gl, gc, gs, gar, gn],
  );
  await q(
    `INSERT INTO egov_counts (grain, bucket, source, agency, level, channel, status, area, count)
     SELECT 'minute', b, 'dvc', 'ubnd-xa', 'commune', 'online_full', 'received', $3, c FROM unnest($1::timestamptz[], $2::bigint[]) AS u(b, c)
     ON CONFLICT DO NOTHING`,
    [[...minutes.keys()].map((m) => new Date(m)), [...minutes.values()], communes[0]!.code],
  );
  return {
    gauges: g.source.length,
    stations: st.source.length,
    esignDayKeys: esign.size,
    egovDayKeys: egov.size,
    minuteKeys: minutes.size,
  };
}
