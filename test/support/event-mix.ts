import type { Envelope } from "@pulse/ingest/test-harness";

/**
 * A deterministic mix of events with a known outcome: e-gov dossier steps and e-sign documents
 * (counts), subscriber readings (gauges), and some duplicates. `expected` is what Postgres must
 * hold after all of them, computed here independently of ingest.
 */
export function eventMix(n: number, seed = 1) {
  let x = seed;
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const out: { feed: string; source: string; env: Envelope }[] = [];
  const egovDays = new Map<string, number>();
  const esignDays = new Map<string, number>();
  const gauges = new Map<string, number>();
  const statuses = ["received", "resolved_on_time", "resolved_late", "rejected"];
  // Communes and wards (in force on the events' day, 2026-11-26): Thành Vinh, Cửa Lò, Hoàng Mai, Quỳ Hợp, Yên Thành.
  const communes = ["16681", "16732", "17110", "17035", "17506"];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const area = communes[i % communes.length]!;
    const minute = Math.floor(rand() * 600);
    const ts = new Date(Date.UTC(2026, 10, 26, 1, 0) + minute * 60_000).toISOString();
    if (r < 0.5) {
      const status = statuses[i % 4]!;
      const env = {
        id: `d${i}:${status}`,
        ts,
        area,
        data: { procedure: "p1", agency: "ubnd-xa", level: "commune", channel: "online_full", status },
      };
      out.push({ feed: "egov", source: "dvc", env });
      egovDays.set(status, (egovDays.get(status) ?? 0) + 1);
    } else if (r < 0.8) {
      const signed = rand() < 0.95;
      out.push({
        feed: "esign",
        source: "edoc",
        env: { id: `doc${i}`, ts, area: "40", data: { agency: "so-khcn", doc: `doc${i}`, signed, signer: "organization" } },
      });
      esignDays.set(String(signed), (esignDays.get(String(signed)) ?? 0) + 1);
    } else {
      const count = Math.floor(rand() * 100_000);
      const source = ["viettel", "vinaphone", "mobifone"][i % 3]!;
      // Readings move forward one second per event, so the last one published per key is the latest.
      const readingTs = new Date(Date.UTC(2026, 10, 26, 1, 0) + i * 1000).toISOString();
      out.push({ feed: "subscribers", source, env: { id: `s${i}`, ts: readingTs, area, data: { service: "mobile", count } } });
      gauges.set(`${source}/${area}`, count);
    }
    // 2% sent twice.
    if (rand() < 0.02) out.push(out[out.length - 1]!);
  }
  return {
    events: out,
    expected: {
      egovByStatus: Object.fromEntries([...egovDays].sort()),
      esignBySigned: Object.fromEntries([...esignDays].sort()),
      gauges: Object.fromEntries([...gauges].sort()),
    },
  };
}
