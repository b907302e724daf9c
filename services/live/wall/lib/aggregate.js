/**
 * From the held live figures to what each tile shows, for the province, a former district or one
 * commune. Pure: the same store, config and time give the same view, so it is tested without a
 * browser.
 *
 * The figures are the gateway's `rollup` topic (docs/live-protocol.md): per area in force today,
 * the sums the gateway made on today's map (a reading in an area no longer in force is history,
 * counted apart as "readings in retired areas"); a former district's roll-up is the sum of its
 * communes, the province's the sum over every unit in force. Ratios come from the `kpi` topic
 * (contracts' formulas); FTTH coverage for the province only: no source gives households per
 * commune or district, so there the tile shows FTTH households without a ratio.
 */
import { localDay } from "./format.js";

/** @typedef {import("./store.js").LiveStore} LiveStore */
/**
 * @typedef {{ code: string, level: string, parent: string|null, name_vi: string, name_en: string,
 *   former_district?: string|null, type?: string|null, valid_from: string|null, valid_to: string|null }} Area
 * @typedef {{ id: string, name: string, kind: string, feeds: Record<string, { cadence_s: number }>, office_hours: boolean }} Source
 * @typedef {{ target: number, baseline: number|null, label_vi?: string, label_en?: string }} Target
 * @typedef {{ operator_name: string, areas: Area[], sources: Source[], targets: Record<string, Target>,
 *   baselines: Record<string, number>, households: number, province: string, hash?: string,
 *   today?: { day: string, map: string, leaves: string[], former_districts: { code: string, communes: string[] }[] } }} WallConfig
 * @typedef {{ day: string, province: Area, leaves: Map<string, Area>, formerDistricts: { district: Area, communes: Area[] }[],
 *   formerOf: (code: string) => string|undefined }} DayMap
 */

/**
 * Vietnamese alphabetical order (one collator: `localeCompare(b, "vi")` builds one per call,
 * and a first render sorts the 130 communes several times).
 */
export const byVietnamese = new Intl.Collator("vi").compare;

/** Is `a` in force on `day` (YYYY-MM-DD)? @param {Area} a @param {string} day */
export const inForceOn = (a, day) => (a.valid_from === null || a.valid_from <= day) && (a.valid_to === null || a.valid_to >= day);

/** @type {WeakMap<object, Map<string, DayMap>>} */
const mapCache = new WeakMap();

/**
 * The map in force on `day`, from the config's dated areas: the lowest-level areas (where the
 * gateway counts current figures), the former districts with their communes, and each code's
 * former district.
 * @param {WallConfig} config @param {string} day
 * @returns {DayMap}
 */
export function mapOn(config, day) {
  let cache = mapCache.get(config);
  if (!cache) mapCache.set(config, (cache = new Map()));
  const hit = cache.get(day);
  if (hit) return hit;
  const province = /** @type {Area} */ (config.areas.find((a) => a.code === config.province));
  const leaves = new Map(
    config.areas
      .filter((a) => a.level !== "province" && inForceOn(a, day))
      .sort((a, b) => byVietnamese(a.name_vi, b.name_vi))
      .map((a) => [a.code, a]),
  );
  /** Latest version of each code. */
  const latest = new Map();
  for (const a of config.areas)
    if (!latest.has(a.code) || (latest.get(a.code).valid_from ?? "") < (a.valid_from ?? "")) latest.set(a.code, a);
  /** @type {Map<string, Area[]>} */
  const groups = new Map();
  for (const a of leaves.values()) {
    if (!a.former_district) continue;
    const g = groups.get(a.former_district) ?? [];
    g.push(a);
    groups.set(a.former_district, g);
  }
  // A district's ground: its own former district, or the one it merged into (by successions the
  // gateway knows; the wall only needs a commune's, and a district that is a former district's own).
  const formerOf = (/** @type {string} */ code) => {
    const a = leaves.get(code) ?? latest.get(code);
    if (!a) return undefined;
    if (a.former_district) return a.former_district;
    return groups.has(code) ? code : undefined;
  };
  const m = {
    day,
    province,
    leaves,
    formerDistricts: [...groups.entries()]
      .map(([code, communes]) => ({ district: latest.get(code) ?? { code, name_vi: code, name_en: code }, communes }))
      .sort((a, b) => byVietnamese(a.district.name_vi, b.district.name_vi)),
    formerOf,
  };
  if (cache.size > 4) cache.clear();
  cache.set(day, m);
  return m;
}

/**
 * What `area` names on `day`: the province, an area in force (its level), a former district, or
 * nothing (null: an area the map no longer has; the page falls back to the province).
 * @param {WallConfig} config @param {string} day @param {string} area
 * @returns {"province"|"former_district"|string|null}
 */
export function scopeOf(config, day, area) {
  if (area === config.province) return "province";
  const m = mapOn(config, day);
  const leaf = m.leaves.get(area);
  if (leaf) return leaf.level;
  if (m.formerDistricts.some((d) => d.district.code === area)) return "former_district";
  return null;
}

/**
 * The day the view is for: the server's (heartbeat) day, else the gateway's day when the config
 * was read, else the machine's.
 * @param {WallConfig} config @param {number|null} nowMs
 */
export function dayOf(config, nowMs) {
  if (nowMs !== null) return localDay(nowMs);
  return config.today?.day ?? localDay(Date.now());
}

/**
 * A commune's or former district's name in `lang`: communes keep their Vietnamese names in every
 * language (they have no other); a former district shows its English name in English.
 * @param {Area|undefined} a @param {"vi"|"en"} lang
 */
export function areaName(a, lang) {
  if (!a) return "";
  return lang === "en" && a.level !== "commune" ? a.name_en : a.name_vi;
}

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

/**
 * A ratio from the `kpi` topic: a number 0–1, or null (no denominator, or no key yet: no figure).
 * A former district's key carries `scope` (its own district's key, history, does not).
 * @param {LiveStore} store @param {string} kpi @param {string} area @param {string} scope
 * @returns {number|null}
 */
export function kpiOf(store, kpi, area, scope) {
  const key = scope === "former_district" ? { kpi, area, scope } : { kpi, area };
  const v = store.get("kpi", key);
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

/**
 * An area's `rollup` value (its current figures), or null when the gateway holds none.
 * @param {LiveStore} store @param {string} scope @param {string} area
 * @returns {Record<string, number|string>|null}
 */
export function rollupOf(store, scope, area) {
  const v = store.get("rollup", { scope, area });
  return v && typeof v === "object" ? /** @type {Record<string, number|string>} */ (v) : null;
}

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
 * Everything the tiles show for `area` (the province code, a former district's code, or a code in force).
 * @param {LiveStore} store
 * @param {WallConfig} config
 * @param {{ area: string, nowMs: number|null, alarmRows?: number }} at
 */
export function buildView(store, config, { area, nowMs, alarmRows = 10 }) {
  const province = config.province;
  const today = dayOf(config, nowMs);
  const map = mapOn(config, today);
  const scope = scopeOf(config, today, area) ?? "province";
  if (scope === "province") area = province;
  const whole = scope === "province";
  const r = rollupOf(store, scope, area);
  /** A number field of the roll-up, or null (no reading: a dash, never 0). @param {string} name */
  const n = (name) => (r && typeof r[name] === "number" ? /** @type {number} */ (r[name]) : null);
  const areaArea = whole ? map.province : (map.leaves.get(area) ?? map.formerDistricts.find((d) => d.district.code === area)?.district);
  const carriers = config.sources.filter((s) => s.feeds && s.feeds.subscribers).map((s) => s.id);
  const fresh = feedStates(store, config);
  const carrierState = new Map(fresh.subscribers?.sources.map((s) => [s.id, s.state]) ?? []);

  const subscriberTile = (/** @type {string} */ service) => {
    const byCarrier = carriers.map((id) => ({
      id,
      name: shortNames[id] ?? id,
      value: n(`${service}.${id}`),
      state: carrierState.get(id) ?? "unknown",
    }));
    return { total: n(service), byCarrier };
  };

  const btsRows = techs.map((tech) => {
    const up = n(`bts.${tech}.up`) ?? 0;
    const degraded = n(`bts.${tech}.degraded`) ?? 0;
    const down = n(`bts.${tech}.down`) ?? 0;
    return { tech, up, degraded, down, total: up + degraded + down };
  });

  // Alarms: stations down where the view looks, today's map only (a station last heard in a
  // retired area is history), longest first.
  const inView = (/** @type {string} */ a) =>
    map.leaves.has(a) && (whole || (scope === "former_district" ? map.formerOf(a) === area : a === area));
  /** @type {{ source: string, station: string, tech: string, area: string, sinceMs: number }[]} */
  const down = [];
  for (const { key, value } of store.entries("bts_station")) {
    const v = /** @type {{ status?: string, area?: string, tech?: string, since?: string } | null} */ (value);
    if (!v || v.status !== "down" || !inView(v.area ?? "")) continue;
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
  const districtOf = (/** @type {string} */ code) => {
    const fd = map.formerOf(code);
    return fd ? map.formerDistricts.find((d) => d.district.code === fd)?.district : undefined;
  };
  const alarms = {
    total: down.length,
    rows: down.slice(0, alarmRows).map((d) => {
      const a = map.leaves.get(d.area);
      const fd = districtOf(d.area);
      return {
        ...d,
        carrier: shortNames[d.source] ?? d.source,
        areaVi: a?.name_vi ?? d.area,
        areaEn: areaName(a, "en") || d.area,
        formerVi: fd ? fd.name_vi : "",
        formerEn: fd ? fd.name_en : "",
        forMs: nowMs !== null && Number.isFinite(d.sinceMs) ? nowMs - d.sinceMs : null,
      };
    }),
  };

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

  // Today's counts: 0 when the day's roll-up has none; none at all from a roll-up made for
  // another day (the gateway has not turned midnight yet).
  const sameDay = r !== null && r.day === today;
  const t = (/** @type {string} */ name) => (sameDay ? (n(name) ?? 0) : null);
  const onlineShare = kpiOf(store, "online_share", area, scope);
  const onlineFullShare = kpiOf(store, "online_full_share", area, scope);
  const retired = rollupOf(store, "retired", province);
  const ftthTarget = config.targets.ftth_coverage;
  return {
    area,
    scope,
    whole,
    areaVi: areaArea?.name_vi ?? area,
    areaEn: areaName(areaArea, "en") || area,
    today,
    feeds: fresh,
    subscribers: Object.fromEntries(services.map((s) => [s, subscriberTile(s)])),
    ftth: {
      households: n("ftth"),
      of: whole ? config.households : null,
      coverage: whole ? kpiOf(store, "ftth_coverage", province, "province") : null,
      target: whole ? (ftthTarget?.target ?? null) : null,
      baseline: ftthTarget?.baseline ?? null,
    },
    bts: {
      rows: btsRows,
      total: n("bts"),
      down: n("bts") === null ? null : (n("bts_down") ?? 0),
      degraded: n("bts") === null ? null : (n("bts_degraded") ?? 0),
    },
    alarms,
    esign: {
      exchanged: t("esign"),
      signed: t("esign_signed"),
      rate: kpiOf(store, "esign_rate", area, scope),
      target: config.targets.esign_rate?.target ?? null,
    },
    egov: {
      lastMinute,
      hour,
      series: { xs, ys },
      receivedToday: t("received"),
      onlineShare,
      onlineFullShare,
      onlinePartialShare: onlineShare !== null && onlineFullShare !== null ? Math.max(0, onlineShare - onlineFullShare) : null,
      onlineTarget: config.targets.online_share?.target ?? null,
      onlineFullTarget: config.targets.online_full_share?.target ?? null,
      ontimeRate: kpiOf(store, "ontime_rate", area, scope),
      ontimeTarget: config.targets.ontime_rate?.target ?? null,
      onTime: t("on_time"),
      late: t("late"),
    },
    /** Carriers that reported for this area today (the gateway's explicit figure). */
    reported: sameDay && typeof r?.reported === "string" && r.reported ? r.reported.split(",") : [],
    /** Readings held in areas no longer in force: history, in no total above. */
    retired: retired && typeof retired.readings === "number" ? retired.readings : 0,
  };
}
