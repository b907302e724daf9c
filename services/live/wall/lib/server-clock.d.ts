// Types of server-clock.js for the TypeScript tests.
export declare class ServerClock {
  constructor(monotonic: () => number);
  set(iso: string): void;
  now(): number | null;
}
