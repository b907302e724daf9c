/**
 * Freshness of one (source, feed): is the producer publishing as often as its cadence says?
 *
 * Judged by **receipt time at ingest** (`feed_status.last_received_at`), never by the producer's
 * own `ts`, so a producer with a wrong clock cannot look fresh.
 *
 * Thresholds (DESIGN.md, "Freshness and KPIs"): the next message is *due* one cadence after the
 * last one. The feed is
 * - `fresh` while it is at most 1× cadence past due (elapsed ≤ 2 × cadence),
 * - `late` while it is at most 3× cadence past due (elapsed ≤ 4 × cadence),
 * - `silent` beyond that, or when nothing was ever received,
 * - `pipeline_behind` instead of late/silent while ingest itself is behind: the messages may be
 *   waiting in the stream, so it is not the producer's fault.
 *
 * Office-hours sources (the portal, the e-document system) are judged only inside their calendar
 * (Mon–Fri 07:30–17:00 UTC+7, holidays as data): outside it they are always `fresh`, and inside
 * it the elapsed time counts **office time only**. We chose office time over "restart the clock
 * at opening" because it is one rule with no special case: a portal that went quiet at 16:55 on
 * Friday is late by 07:35 on Monday if it still says nothing (2 × 120 s of office time), while a
 * portal that published at 16:59 is judged from that message, not from a reset that would forgive
 * a source silent for the whole last hour of Friday.
 */
import type { Calendar } from "@pulse/seeds";

export const feedStates = ["fresh", "late", "silent", "pipeline_behind"] as const;
export type FeedState = (typeof feedStates)[number];

export interface FreshnessInput {
  /** Now, epoch milliseconds. */
  now: number;
  /** Receipt time of the last message at ingest, epoch ms; null when nothing was ever received. */
  lastReceivedAt: number | null;
  /** Expected interval between messages, seconds (seeds' `cadence_s`). */
  cadenceS: number;
  /** Judge only inside `calendar` (seeds' `office_hours`). Default false. */
  officeHours?: boolean;
  /** The office calendar; required when `officeHours`. */
  calendar?: Calendar;
  /** Ingest is behind on this feed (consumer pending growing). Default false. */
  pipelineBehind?: boolean;
}

/** Fresh up to this many cadences after the last message (1 to be due, 1 more past due). */
export const freshCadences = 2;
/** Late up to this many cadences after the last message (1 to be due, 3 more past due). */
export const lateCadences = 4;

/** Asia/Ho_Chi_Minh has kept UTC+7 without daylight saving since 1975. */
export const utc7OffsetMs = 7 * 3_600_000;
const dayMs = 86_400_000;

const minutesOf = (hhmm: string): number => {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!m) throw new Error(`calendar time must be HH:MM, got ${JSON.stringify(hhmm)}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

/** Start of the local (UTC+7) day holding `ms`, as epoch ms. */
export const localDayStart = (ms: number): number => Math.floor((ms + utc7OffsetMs) / dayMs) * dayMs - utc7OffsetMs;

/** The office window [open, close) of the local day starting at `dayStart`, or null when closed all day. */
function officeWindow(dayStart: number, calendar: Calendar): [number, number] | null {
  const local = new Date(dayStart + utc7OffsetMs); // its UTC fields are the local date
  const weekday = local.getUTCDay() === 0 ? 7 : local.getUTCDay(); // ISO: Monday 1 … Sunday 7
  if (!calendar.weekdays.includes(weekday)) return null;
  if (calendar.holidays.includes(local.toISOString().slice(0, 10))) return null;
  return [dayStart + minutesOf(calendar.open) * 60_000, dayStart + minutesOf(calendar.close) * 60_000];
}

/** True when `ms` falls inside the calendar's office hours. */
export function isOfficeTime(ms: number, calendar: Calendar): boolean {
  const w = officeWindow(localDayStart(ms), calendar);
  return w !== null && ms >= w[0] && ms < w[1];
}

/**
 * Office milliseconds between `from` and `to`. Stops counting once past `cap` (the caller only
 * needs to know "more than cap"), so a source silent for months costs a bounded loop.
 */
export function officeTimeBetween(from: number, to: number, calendar: Calendar, cap = Number.POSITIVE_INFINITY): number {
  let total = 0;
  // Beyond ~400 days every cadence in seeds is long exceeded; the bound keeps bad input cheap.
  for (let day = localDayStart(from), n = 0; day < to && n < 400; day += dayMs, n++) {
    const w = officeWindow(day, calendar);
    if (w) total += Math.max(0, Math.min(w[1], to) - Math.max(w[0], from));
    if (total > cap) break;
  }
  return total;
}

/** The state of one (source, feed) now. Pure: same input, same answer. */
export function freshness(input: FreshnessInput): FeedState {
  const { now, lastReceivedAt, cadenceS } = input;
  if (!(cadenceS > 0)) throw new Error(`cadence must be positive seconds, got ${cadenceS}`);
  let state: FeedState;
  if (input.officeHours) {
    if (!input.calendar) throw new Error("an office-hours source needs its calendar");
    if (!isOfficeTime(now, input.calendar)) return "fresh";
  }
  if (lastReceivedAt === null) {
    state = "silent";
  } else {
    const cadenceMs = cadenceS * 1000;
    const elapsed = input.officeHours
      ? officeTimeBetween(Math.min(lastReceivedAt, now), now, input.calendar!, lateCadences * cadenceMs)
      : now - lastReceivedAt;
    state = elapsed <= freshCadences * cadenceMs ? "fresh" : elapsed <= lateCadences * cadenceMs ? "late" : "silent";
  }
  return state !== "fresh" && input.pipelineBehind ? "pipeline_behind" : state;
}

/** Labels for screens and dashboards. */
export const feedStateLabels: Record<FeedState, { vi: string; en: string }> = {
  fresh: { vi: "Đúng nhịp", en: "Fresh" },
  late: { vi: "Chậm", en: "Late" },
  silent: { vi: "Mất tín hiệu", en: "Silent" },
  pipeline_behind: { vi: "Hệ thống xử lý chậm", en: "Pipeline behind" },
};
