import { simulation } from "@pulse/seeds";
import { inOfficeHours, isWorkday, localMinute, parseHhmm } from "./local-time";

/** Generation slots of the event feeds: ten minutes, aligned to the epoch (and so to UTC+7). */
export const slotMs = 600_000;

const profile = simulation.office_profile.slots.map((s) => ({ from: parseHhmm(s.from), to: parseHhmm(s.to), weight: s.weight }));
/** Weight × minutes over one working day: what a day's total is spread over. */
const dayWeight = profile.reduce((n, s) => n + (s.to - s.from) * s.weight, 0);

/** Share of a working day's office work that falls in the slot starting at `ms` (0 outside office hours). */
export function officeShare(ms: number): number {
  if (!isWorkday(ms)) return 0;
  const m0 = localMinute(ms);
  let w = 0;
  for (const s of profile) {
    const lo = Math.max(m0, s.from);
    const hi = Math.min(m0 + slotMs / 60_000, s.to);
    if (hi > lo) w += (hi - lo) * s.weight;
  }
  return w / dayWeight;
}

/** Share of the off-hours work (evenings, nights, weekends) in one slot: spread evenly over a week's off-hours. */
export function offHoursShare(ms: number): number {
  if (inOfficeHours(ms)) return 0;
  // A week has 5 × 9.5 office hours; the rest, 120.5 hours, share the off-hours volume of 5 days.
  return (5 * (slotMs / 3_600_000)) / 120.5;
}
