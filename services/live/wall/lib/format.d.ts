// Types of format.js for the TypeScript tests.
export type Lang = "vi" | "en";
export declare const dash: string;
export declare function formatInt(n: number | null | undefined, lang: Lang): string;
export declare function formatPercent(ratio: number | null | undefined, lang: Lang, digits?: number): string;
export declare function localFields(ms: number): {
  year: number;
  month: number;
  day: number;
  hours: number;
  minutes: number;
  seconds: number;
  weekday: number;
};
export declare function formatDate(ms: number): string;
export declare function formatTime(ms: number): string;
export declare function formatClock(ms: number): string;
export declare function localDay(ms: number): string;
export declare function formatWeekday(ms: number, lang: Lang): string;
export declare function formatDuration(ms: number, lang: Lang): string;
