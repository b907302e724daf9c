// Types of store.js for the TypeScript tests (the page runs the .js as it is).
export interface Entry {
  metric: string;
  key: Record<string, string>;
  value: unknown;
  version: number;
}
export interface Held {
  key: Record<string, string>;
  value: unknown;
  version: number;
}
export declare function keyString(key: Record<string, string>): string;
export declare class LiveStore {
  metrics: Map<string, Map<string, Held>>;
  static fromEntries(entries: Iterable<Entry>): LiveStore;
  replaceMetrics(metrics: Iterable<string>, entries: Iterable<Entry>): void;
  apply(entries: Iterable<Entry>): Set<string>;
  entries(metric: string): Iterable<Held>;
  get(metric: string, key: Record<string, string>): unknown;
  forgetVersions(metric: string): void;
  readonly size: number;
  prune(metric: string, drop: (key: Record<string, string>) => boolean): number;
}
export declare function pruneOld(store: LiveStore, when: { today: string; yesterday: string; nowMs: number; keepMinutes?: number }): number;
