/**
 * From the held live figures to what each tile shows, for the province or one district. Pure:
 * the same store, config and time give the same view, so it is tested without a browser.
 *
 * Province totals are sums over districts (subscribers and BTS take district codes only, so a
 * province row would count twice); e-documents and dossiers also carry the province code 40 for
 * provincial agencies, which the province view includes and a district view does not. Ratios come
 * from the gateway's `kpi` topic (contracts' formulas); where it holds no key for the area yet,
 * the same formula is applied here to the same counts, so a tile is never blank for lack of it.
 */
import { localDay } from "./format.js";

/** @typedef {import("./store.js").LiveStore} LiveStore */
/**
 * @typedef {{ code: string, level: string, parent: string|null, name_vi: string, name_en: string, households?: number }} Area
 * @typedef {{ id: string, name: string, kind: string, feeds: Record<string, { cadence_s: number }>, office_hours: boolean }} Source
 * @typedef {{ target: number, baseline: number|null, label_vi?: string, label_en?: string }} Target
 * @typedef {{ operator_name: string, areas: Area[], sources: Source[], targets: Record<string, Target>,
 *   baselines: Record<string, number>, households: number, province: string }} WallConfig
 */

export const services = /** @type {const} */ (["mobile", "mobile_broadband", "fixed_broadband"]);
export const techs = /** @type {const} */ (["2G", "3G", "4G", "5G"]);
export const feeds = /** @type {const} */ (["subscribers", "bts", "esign", "egov"]);

/** Short names the room knows the carriers by; any other source shows its seeds name. */
export const shortNames = /** @type {Record<string, string>} */ ({
  viettel: "Viettel",
  vinaphone: "VinaPhone",
  mobifone: "MobiFone",
  vietnamobile: "Vietnamobile",
  edoc: "VNPT-iOffice",
  dvc: "Cổng DVC",
});

/** Worst first: a tile shows the worst state among its feed's sources. */
const severity = /** @type {Record<string, number>} */ ({ silent: 4, late: 3, pipeline_behind: 2, unknown: 1, fresh: 0 });

/** @param {string} a @param {string} b */
const worst = (a, b) => ((severity[a] ?? 1) >= (severity[b] ?? 1) ? a : b);

/** @param {unknown} v */
const num = (v) => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** @param {number} n @param {number} d */
const ratio = (n, d) => (d > 0 ? n / d : null);

/**
 * A ratio from the `kpi` topic: a number 0–1, null (no denominator: no figure), or undefined
 * when the gateway holds no such key (then the caller computes it).
 * @param {LiveStore} store @param {string} kpi @param {string} area
 * @returns {number|null|undefined}
 */
function kpiOf(store, kpi, area) {
  const v = store.get("kpi", { kpi, area });
  if (v === undefined) return undefined;
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/** @param {number|null|undefined} fromGateway @param {number|null} local */
const pick = (fromGateway, local) => (fromGateway === undefined ? local : fromGateway);

/**
 * The freshness of each feed: per source its state and last receipt, the worst state, and how
 * many sources reported within their cadence.
 * @param {LiveStore} store @param {WallConfig} config
 */
export function feedStates(store, config) {
  /** @type {Record<string, { state: string, reported: number, total: number, kind: "carrier"|"system", lastReceivedMs: number|null,
   *   sources: { id: string, name: string, state: string, lastReceivedMs: number|null }[] }>} */
  const out = {};
  for (const feed of feeds) {
    const list = config.sources.filter((s) => s.feeds && s.feeds[feed]);
    let state = list.length ? "fresh" : "unknown";
    let reported = 0;
    /** @type {number|null} */
    let last = null;
    const sources = list.map((s) => {
      const v = /** @type {{ state?: string, last_received_at?: string|null } | null | undefined} */ (
        store.get("freshness", { source: s.id, feed })
      );
      const st = v && typeof v.state === "string" ? v.state : "unknown";
      const t = v && v.last_received_at ? Date.parse(v.last_received_at) : NaN;
      const lastReceivedMs = Number.isFinite(t) ? t : null;
      if (st === "fresh") reported++;
      state = worst(state, st);
      if (lastReceivedMs !== null && (last === null || lastReceivedMs > last)) last = lastReceivedMs;
      return { id: s.id, name: shortNames[s.id] ?? s.name, state: st, lastReceivedMs };
    });
    out[feed] = {
      state,
      reported,
      total: list.length,
      kind: list.every((s) => s.kind === "carrier") ? "carrier" : "system",
      lastReceivedMs: last,
      sources,
    };
  }
  return out;
}

/**
 * The day "today" is in UTC+7, from the server's time; before the first heartbeat, the latest
 * day the figures hold.
 * @param {LiveStore} store @param {number|null} nowMs
 */
export function todayOf(store, nowMs) {
  if (nowMs !== null) return localDay(nowMs);
  let day = "";
  for (const m of ["esign_day", "egov_day"]) for (const { key } of store.entries(m)) if (key.day && key.day > day) day = key.day;
  return day || null;
}

/**
 * Everything the tiles show for `area` ("40" or a district code).
 * @param {LiveStore} store
 * @param {WallConfig} config
 * @param {{ area: string, nowMs: number|null, alarmRows?: number }} at
 */
export function buildView(store, config, { area, nowMs, alarmRows = 10 }) {
  const province = config.province;
  const whole = area === province;
  const inArea = (/** @type {string|undefined} */ a) => whole || a === area;
  const areaOf = new Map(config.areas.map((a) => [a.code, a]));
  const carriers = config.sources.filter((s) => s.feeds && s.feeds.subscribers).map((s) => s.id);
  const fresh = feedStates(store, config);
  const carrierState = new Map(fresh.subscribers?.sources.map((s) => [s.id, s.state]) ?? []);

  // Subscribers: one pass, summed per (service, carrier).
  /** @type {Map<string, Map<string, number>>} */
  const subs = new Map();
  for (const { key, value } of store.entries("subscribers")) {
    if (typeof value !== "number" || !inArea(key.area) || !key.service || !key.source) continue;
    let bySource = subs.get(key.service);
    if (!bySource) subs.set(key.service, (bySource = new Map()));
    bySource.set(key.source, (bySource.get(key.source) ?? 0) + value);
  }
  const subscriberTile = (/** @type {string} */ service) => {
    const bySource = subs.get(service) ?? new Map();
    const ids = [...carriers, ...[...bySource.keys()].filter((id) => !carriers.includes(id)).sort()];
    const byCarrier = ids.map((id) => ({
      id,
      name: shortNames[id] ?? id,
      value: bySource.has(id) ? /** @type {number} */ (bySource.get(id)) : null,
      state: carrierState.get(id) ?? "unknown",
    }));
    return {
      total: bySource.size ? byCarrier.reduce((s, c) => s + num(c.value), 0) : null,
      byCarrier,
    };
  };

  const ftthHouseholds = subs.get("ftth") ? [...(subs.get("ftth") ?? new Map()).values()].reduce((s, v) => s + v, 0) : null;
  const households = whole ? config.households : (areaOf.get(area)?.households ?? null);
  const ftthTarget = config.targets.ftth_coverage;

  // BTS: counts by tech and status from `bts_stations`.
  const bts = techs.map((tech) => ({ tech, up: 0, degraded: 0, down: 0 }));
  const byTech = new Map(bts.map((b) => [b.tech, b]));
  let btsSeen = false;
  for (const { key, value } of store.entries("bts_stations")) {
    if (typeof value !== "number" || !inArea(key.area)) continue;
    const b = byTech.get(/** @type {string} */ (key.tech));
    if (!b) continue;
    btsSeen = true;
    if (key.status === "up") b.up += value;
    else if (key.status === "degraded") b.degraded += value;
    else if (key.status === "down") b.down += value;
  }
  const btsRows = bts.map((b) => ({ ...b, total: b.up + b.degraded + b.down }));

  // Alarms: stations down, longest first, from each station's state.
  /** @type {{ source: string, station: string, tech: string, area: string, sinceMs: number }[]} */
  const down = [];
  for (const { key, value } of store.entries("bts_station")) {
    const v = /** @type {{ status?: string, area?: string, tech?: string, since?: string } | null} */ (value);
    if (!v || v.status !== "down" || !inArea(v.area)) continue;
    const since = Date.parse(v.since ?? "");
    down.push({
      source: key.source ?? "",
      station: key.station ?? "",
      tech: v.tech ?? "",
      area: v.area ?? "",
      sinceMs: Number.isFinite(since) ? since : Number.POSITIVE_INFINITY,
    });
  }
  down.sort((a, b) => a.sinceMs - b.sinceMs || (a.area < b.area ? -1 : a.area > b.area ? 1 : 0) || (a.station < b.station ? -1 : 1));
  const alarms = {
    total: down.length,
    rows: down.slice(0, alarmRows).map((d) => {
      const a = areaOf.get(d.area);
      return {
        ...d,
        carrier: shortNames[d.source] ?? d.source,
        areaVi: a?.name_vi ?? d.area,
        areaEn: a?.name_en ?? d.area,
        forMs: nowMs !== null && Number.isFinite(d.sinceMs) ? nowMs - d.sinceMs : null,
      };
    }),
  };

  // Today's e-documents and dossier steps.
  const today = todayOf(store, nowMs);
  let exchanged = 0;
  let signed = 0;
  let esignSeen = false;
  for (const { key, value } of store.entries("esign_day")) {
    if (key.day !== today || !inArea(key.area) || typeof value !== "number") continue;
    esignSeen = true;
    exchanged += value;
    if (key.signed === "true") signed += value;
  }
  const received = { online_full: 0, online_partial: 0, in_person: 0 };
  let onTime = 0;
  let late = 0;
  let egovSeen = false;
  for (const { key, value } of store.entries("egov_day")) {
    if (key.day !== today || !inArea(key.area) || typeof value !== "number") continue;
    egovSeen = true;
    if (key.status === "received" && key.channel && key.channel in received)
      received[/** @type {keyof typeof received} */ (key.channel)] += value;
    else if (key.status === "resolved_on_time") onTime += value;
    else if (key.status === "resolved_late") late += value;
  }
  const receivedTotal = received.online_full + received.online_partial + received.in_person;
  const onlineShare = pick(kpiOf(store, "online_share", area), ratio(received.online_full + received.online_partial, receivedTotal));
  const onlineFullShare = pick(kpiOf(store, "online_full_share", area), ratio(received.online_full, receivedTotal));

  // Received steps per minute (province-wide: the change log keys them by minute only).
  /** @type {Map<number, number>} */
  const perMinute = new Map();
  for (const { key, value } of store.entries("egov_minute")) {
    const t = Date.parse(key.minute ?? "");
    if (Number.isFinite(t) && typeof value === "number") perMinute.set(t, value);
  }
  const xs = [];
  const ys = [];
  let hour = 0;
  let lastMinute = null;
  if (nowMs !== null) {
    const current = Math.floor(nowMs / 60_000) * 60_000;
    for (let i = 60; i >= 0; i--) {
      const t = current - i * 60_000;
      const v = perMinute.get(t) ?? 0;
      xs.push(t / 1000);
      ys.push(v);
      if (i >= 1) hour += v;
    }
    lastMinute = perMinute.get(current - 60_000) ?? (perMinute.size ? 0 : null);
  }

  return {
    area,
    whole,
    areaVi: areaOf.get(area)?.name_vi ?? area,
    areaEn: areaOf.get(area)?.name_en ?? area,
    today,
    feeds: fresh,
    subscribers: Object.fromEntries(services.map((s) => [s, subscriberTile(s)])),
    ftth: {
      households: ftthHouseholds,
      of: households,
      coverage: pick(kpiOf(store, "ftth_coverage", area), households && ftthHouseholds !== null ? ftthHouseholds / households : null),
      target: ftthTarget?.target ?? null,
      baseline: ftthTarget?.baseline ?? null,
    },
    bts: {
      rows: btsRows,
      total: btsSeen ? btsRows.reduce((s, r) => s + r.total, 0) : null,
      down: btsSeen ? btsRows.reduce((s, r) => s + r.down, 0) : null,
      degraded: btsSeen ? btsRows.reduce((s, r) => s + r.degraded, 0) : null,
    },
    alarms,
    esign: {
      exchanged: esignSeen ? exchanged : null,
      signed: esignSeen ? signed : null,
      rate: pick(kpiOf(store, "esign_rate", area), ratio(signed, exchanged)),
      target: config.targets.esign_rate?.target ?? null,
    },
    egov: {
      lastMinute,
      hour,
      series: { xs, ys },
      receivedToday: egovSeen ? receivedTotal : null,
      onlineShare,
      onlineFullShare,
      onlinePartialShare: onlineShare !== null && onlineFullShare !== null ? Math.max(0, onlineShare - onlineFullShare) : null,
      onlineTarget: config.targets.online_share?.target ?? null,
      onlineFullTarget: config.targets.online_full_share?.target ?? null,
      ontimeRate: pick(kpiOf(store, "ontime_rate", area), ratio(onTime, onTime + late)),
      ontimeTarget: config.targets.ontime_rate?.target ?? null,
      onTime: egovSeen ? onTime : null,
      late: egovSeen ? late : null,
    },
  };
}
