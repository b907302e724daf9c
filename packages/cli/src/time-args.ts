import { parseOffsetTime, utc7OffsetMs } from "@pulse/contracts";
import { UsageError } from "./cli-error";

const dayMs = 86_400_000;

/** `YYYY-MM-DD` as the UTC instant of that day's local (UTC+7) midnight, epoch ms; throws a UsageError otherwise. */
export function parseLocalDay(value: string, flag: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  if (!m || !Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new UsageError(`${flag} must be a day YYYY-MM-DD (UTC+7), got ${JSON.stringify(value)}`);
  }
  return ms - utc7OffsetMs;
}

/** The local day (UTC+7) of an instant, YYYY-MM-DD. */
export const localDay = (ms: number): string => new Date(ms + utc7OffsetMs).toISOString().slice(0, 10);

/** An instant as local time with its offset, e.g. 2026-11-26T09:15:00+07:00. */
export const localTime = (d: Date | number | null): string =>
  d === null ? "–" : new Date(new Date(d).getTime() + utc7OffsetMs).toISOString().slice(0, 19) + "+07:00";

/**
 * A point in time for `--since`/`--before`: a day (YYYY-MM-DD, its UTC+7 midnight), an RFC 3339
 * time with an offset, or an age such as 90m, 2h, 3d (that long before now).
 */
export function parseWhen(value: string, flag: string, now = Date.now()): Date {
  const age = /^(\d+)\s*(m|min|h|d)$/.exec(value);
  if (age) return new Date(now - Number(age[1]) * ({ m: 60_000, min: 60_000, h: 3_600_000, d: dayMs } as const)[age[2] as "m"]);
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return new Date(parseLocalDay(value, flag));
  const t = parseOffsetTime(value);
  if (t === null)
    throw new UsageError(
      `${flag} must be a day (2026-11-26), a time with an offset (2026-11-26T09:15:00+07:00) or an age (2h, 3d); got ${JSON.stringify(value)}`,
    );
  return new Date(t);
}
