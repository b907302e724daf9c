/**
 * Number, percent, date and duration formats of the wall. Vietnamese by default: 3.128.167 and
 * 95,5 %; dates dd/MM/yyyy; times in UTC+7 whatever the browser's own zone (Asia/Ho_Chi_Minh has
 * kept UTC+7 without daylight saving since 1975, so a fixed offset is exact and needs no time
 * zone data in the kiosk's browser).
 */

const utc7Ms = 7 * 3_600_000;
const nbsp = "\u00a0";

/** @type {Record<string, Intl.NumberFormat>} */
const integers = {
  vi: new Intl.NumberFormat("vi-VN", { maximumFractionDigits: 0 }),
  en: new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 }),
};
/** @type {Record<string, Intl.NumberFormat>} */
const decimals = {};

/** The dash shown for "no figure" (null, NaN): never 0, never blank. */
export const dash = "—";

/**
 * An integer, grouped: vi 3.128.167, en 3,128,167.
 * @param {number|null|undefined} n
 * @param {"vi"|"en"} lang
 */
export function formatInt(n, lang) {
  if (n === null || n === undefined || !Number.isFinite(n)) return dash;
  return integers[lang].format(Math.round(n));
}

/**
 * A ratio 0–1 as a percent with `digits` decimals: vi "95,5 %", en "95.5%". The space before %
 * in Vietnamese is a no-break space, so the sign never wraps onto a line of its own.
 * @param {number|null|undefined} ratio
 * @param {"vi"|"en"} lang
 * @param {number} [digits]
 */
export function formatPercent(ratio, lang, digits = 1) {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return dash;
  const k = `${lang}:${digits}`;
  const f = (decimals[k] ??= new Intl.NumberFormat(lang === "vi" ? "vi-VN" : "en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }));
  return lang === "vi" ? `${f.format(ratio * 100)}${nbsp}%` : `${f.format(ratio * 100)}%`;
}

const two = (/** @type {number} */ n) => String(n).padStart(2, "0");

/** The UTC+7 wall-clock fields of an instant. @param {number} ms */
export function localFields(ms) {
  const d = new Date(ms + utc7Ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hours: d.getUTCHours(),
    minutes: d.getUTCMinutes(),
    seconds: d.getUTCSeconds(),
    weekday: d.getUTCDay(),
  };
}

/** dd/MM/yyyy in UTC+7 (both languages: the department's documents use it). @param {number} ms */
export function formatDate(ms) {
  const f = localFields(ms);
  return `${two(f.day)}/${two(f.month)}/${f.year}`;
}

/** HH:mm:ss in UTC+7. @param {number} ms */
export function formatTime(ms) {
  const f = localFields(ms);
  return `${two(f.hours)}:${two(f.minutes)}:${two(f.seconds)}`;
}

/** HH:mm in UTC+7. @param {number} ms */
export function formatClock(ms) {
  const f = localFields(ms);
  return `${two(f.hours)}:${two(f.minutes)}`;
}

/** The local (UTC+7) calendar day of an instant as YYYY-MM-DD, as the change log keys days. @param {number} ms */
export function localDay(ms) {
  const f = localFields(ms);
  return `${f.year}-${two(f.month)}-${two(f.day)}`;
}

const weekdays = {
  vi: ["Chủ nhật", "Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy"],
  en: ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
};

/** The weekday name in UTC+7. @param {number} ms @param {"vi"|"en"} lang */
export function formatWeekday(ms, lang) {
  return weekdays[lang][localFields(ms).weekday] ?? "";
}

/**
 * How long something has lasted, ticking: "4:05" (minutes), "1:04:05", "2 ngày 03:04:05".
 * Negative durations (a `since` a little ahead of the server's heartbeat) read as 0.
 * @param {number} ms
 * @param {"vi"|"en"} lang
 */
export function formatDuration(ms, lang) {
  if (!Number.isFinite(ms)) return dash;
  let s = Math.max(0, Math.floor(ms / 1000));
  const days = Math.floor(s / 86_400);
  s -= days * 86_400;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const clock = h > 0 || days > 0 ? `${days > 0 ? two(h) : h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
  return days > 0 ? `${days}${nbsp}${lang === "vi" ? "ngày" : "d"} ${clock}` : clock;
}
