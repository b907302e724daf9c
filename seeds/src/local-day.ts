/** The province's offset from UTC: Vietnam keeps UTC+7 all year (no daylight saving). */
export const provinceOffsetMs = 7 * 3_600_000;

/** The UTC+7 calendar day of an instant, as `YYYY-MM-DD`. */
export function localDay(ms: number): string {
  return new Date(ms + provinceOffsetMs).toISOString().slice(0, 10);
}

/** The UTC+7 day number of an instant (days since 1970-01-01 in UTC+7): cheap to compare. */
export function localDayNumber(ms: number): number {
  return Math.floor((ms + provinceOffsetMs) / 86_400_000);
}

/** `YYYY-MM-DD` → its day number; `null` stays open (−∞ or +∞ by the caller's choice). */
export function dayNumber(day: string): number {
  return Math.round(Date.parse(`${day}T00:00:00Z`) / 86_400_000);
}

/** A day number → `YYYY-MM-DD`. */
export function dayOf(n: number): string {
  return new Date(n * 86_400_000).toISOString().slice(0, 10);
}
