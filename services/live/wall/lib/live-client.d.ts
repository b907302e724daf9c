// Types of live-client.js for the TypeScript tests.
import type { Entry } from "./store.js";
export type LinkState = "connecting" | "live" | "lost" | "denied";
export interface LiveClientOptions {
  url: string;
  topics?: string[];
  subscriptions?: { id: string; topics: string[]; filter?: Record<string, string | string[]> }[];
  WebSocket: unknown;
  onSnapshot: (entries: Entry[], info: { id: string; topics: string[]; seq: number; reset: boolean }) => void;
  onDelta: (entries: Entry[], seq: number) => void;
  onResumed?: (seq: number) => void;
  onHeartbeat?: (now: string, behind: unknown, why: unknown) => void;
  onState?: (state: LinkState, detail?: { code?: number; reason?: string }) => void;
  onProtocolError?: (frame: { code?: string; message?: string }) => void;
  subscriptionId?: string;
  silenceMs?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  deniedDelayMs?: number;
  random?: () => number;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (t: unknown) => void;
}
export declare class LiveClient {
  constructor(o: LiveClientOptions);
  seq: number | null;
  state: LinkState;
  frames: number;
  connects: number;
  snapshots: number;
  resets: number;
  resumes: number;
  start(): this;
  close(): void;
}
