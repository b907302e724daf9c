/**
 * Local time in Nghệ An (UTC+7, no daylight saving since 1975) and the office calendar of seeds.
 * Written with a fixed offset on purpose: the simulator must produce the same events on a machine
 * in any time zone.
 */
import { calendar } from "@pulse/seeds";

export const offsetMs = 7 * 3_600_000;
export const dayMs = 86_400_000;

/** RFC 3339 with the +07:00 offset, milliseconds kept: `2026-12-03T09:15:00.123+07:00`. */
export const localIso = (ms: number): string => new Date(ms + offsetMs).toISOString().slice(0, 23) + "+07:00";

/** Start of the local (UTC+7) day holding `ms`. */
export const localDayStart = (ms: number): number => Math.floor((ms + offsetMs) / dayMs) * dayMs - offsetMs;

/** `2026-12-03` for the local day of `ms`. */
export const localDate = (ms: number): string => new Date(ms + offsetMs).toISOString().slice(0, 10);

/** `261203`: a compact local date for ids. */
export const localYymmdd = (ms: number): string => localDate(ms).slice(2).replace(/-/g, "");

/** Minutes since local midnight. */
export const localMinute = (ms: number): number => Math.floor(((ms + offsetMs) % dayMs) / 60_000);

const hhmm = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
export const parseHhmm = hhmm;

const holidays = new Set(calendar.holidays);
const openMin = hhmm(calendar.open);
const closeMin = hhmm(calendar.close);

/** A working day of the calendar (Mon–Fri, not a public holiday), for the local day of `ms`. */
export function isWorkday(ms: number): boolean {
  const weekday = new Date(ms + offsetMs).getUTCDay() || 7; // ISO: Monday 1 … Sunday 7
  return calendar.weekdays.includes(weekday) && !holidays.has(localDate(ms));
}

/** Inside office hours (a working day, 07:30–17:00 local). */
export function inOfficeHours(ms: number): boolean {
  const m = localMinute(ms);
  return isWorkday(ms) && m >= openMin && m < closeMin;
}

/** The working day `n` working days before the local day of `ms` (n ≥ 1), as its start. */
export function workdaysBefore(ms: number, n: number): number {
  let d = localDayStart(ms);
  let left = n;
  for (let guard = 0; left > 0 && guard < 400; guard++) {
    d -= dayMs;
    if (isWorkday(d + 12 * 3_600_000)) left--;
  }
  return d;
}
