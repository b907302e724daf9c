/**
 * Test clocks at chosen hours of the Nghệ An calendar, so no test depends on the day or the hour
 * it runs (docs/testing-time.md).
 *
 * The instants are always in the **past**: nats-server and the shared Postgres keep real time,
 * and ingest refuses a record dated more than 5 minutes past the broker's receipt. A record
 * dated days ago is a late event, which ingest takes into its own buckets. Only the code's
 * injectable clocks (the simulator's `Clock`, the exporter's and the gateway's `clock`) are
 * moved; never the process's timers (fake timers would freeze those nats.js and pg rely on).
 */
import { calendar } from "@pulse/seeds";

/** The clocks a test file can run under. */
export const testClockKinds = ["sunday", "weekday", "midnight"] as const;
export type TestClockKind = (typeof testClockKinds)[number];

/** The variable that picks the clock: `PULSE_TEST_CLOCK=sunday|weekday|midnight`. */
export const testClockVariable = "PULSE_TEST_CLOCK";

/** Default when PULSE_TEST_CLOCK is unset: a Sunday night, when the office-hours sources are quiet (the harder case). */
export const defaultTestClockKind: TestClockKind = "sunday";

const offsetMs = 7 * 3_600_000;
const dayMs = 86_400_000;
const hourMs = 3_600_000;

/** Start of the local (UTC+7) day holding `ms`. */
export const utc7DayStart = (ms: number): number => Math.floor((ms + offsetMs) / dayMs) * dayMs - offsetMs;

/** `2026-12-06` for the local (UTC+7) day of `ms`. */
export const utc7Date = (ms: number): string => new Date(ms + offsetMs).toISOString().slice(0, 10);

/** ISO weekday (Monday 1 … Sunday 7) of the local day of `ms`. */
const isoWeekday = (ms: number): number => new Date(ms + offsetMs).getUTCDay() || 7;

const isWorkday = (ms: number): boolean => calendar.weekdays.includes(isoWeekday(ms)) && !calendar.holidays.includes(utc7Date(ms));

/** Time of day of each kind (ms after local midnight), and which days qualify. */
const kinds: Record<TestClockKind, { at: number; day: (ms: number) => boolean }> = {
  // 02:00 on a Sunday: no office hours, the night's trickle only.
  sunday: { at: 2 * hourMs, day: (ms) => isoWeekday(ms) === 7 },
  // 10:00 on a working day of the seeds' calendar (Mon–Fri, not a public holiday): the busy morning.
  weekday: { at: 10 * hourMs, day: isWorkday },
  // 23:59:50 on any day: a running clock crosses into the next UTC+7 day 10 s later.
  midnight: { at: 24 * hourMs - 10_000, day: () => true },
};

/** The variable's clock kind (default `sunday`). Throws, naming the variable, on any other value. */
export function testClockKind(env: Readonly<Record<string, string | undefined>> = process.env): TestClockKind {
  const v = env[testClockVariable];
  if (v === undefined || v === "") return defaultTestClockKind;
  if (!(testClockKinds as readonly string[]).includes(v))
    throw new Error(`${testClockVariable} must be one of ${testClockKinds.join(", ")}, got ${JSON.stringify(v)}`);
  return v as TestClockKind;
}

/** The most recent instant of `kind` strictly before `realNow` (epoch ms, UTC+7 calendar). */
export function calendarInstant(kind: TestClockKind, realNow: number = Date.now()): number {
  const k = kinds[kind];
  // A year back is far more than any run of holidays; the bound only guards against a bad calendar.
  for (let d = utc7DayStart(realNow), n = 0; n < 370; d -= dayMs, n++) {
    const t = d + k.at;
    if (t < realNow && k.day(t)) return t;
  }
  throw new Error(`no ${kind} instant in the year before ${new Date(realNow).toISOString()}`);
}

/** A clock for the code's injectable clock seams. `sleep` waits for real. */
export interface TestClock {
  readonly kind: TestClockKind;
  /** The instant it started at. */
  readonly start: number;
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * A clock that starts now at the most recent instant of `kind` (default: PULSE_TEST_CLOCK) and
 * then runs at real speed, so it stays in the past of the broker's and Postgres's clocks. Create
 * it right before the code under test starts: the `midnight` clock crosses into the next day
 * 10 s after creation.
 */
export function calendarClock(kind: TestClockKind = testClockKind(), realNow: () => number = Date.now): TestClock {
  const real0 = realNow();
  const start = calendarInstant(kind, real0);
  return {
    kind,
    start,
    now: () => start + (realNow() - real0),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
}

/**
 * Runs `read` (a scrape, a snapshot) until the local day did not change while it ran, and says
 * which day it saw: under a running clock, "today" is whatever day the code under test read it
 * in, and a test compares against that day, not against a day it assumed.
 */
export async function withinOneDay<T>(clock: { now(): number }, read: () => Promise<T>): Promise<{ value: T; dayStart: number }> {
  for (;;) {
    const before = utc7DayStart(clock.now());
    const value = await read();
    if (utc7DayStart(clock.now()) === before) return { value, dayStart: before };
  }
}
