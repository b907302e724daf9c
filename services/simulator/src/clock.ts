/** Time as the simulator sees it: injectable, so a test can run a day in a moment, deterministically. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** A clock that only moves when slept on: each sleep advances it by exactly that much. */
export function virtualClock(startMs: number): Clock & { set(ms: number): void } {
  let t = startMs;
  return {
    now: () => t,
    async sleep(ms) {
      t += ms;
      await Promise.resolve();
    },
    set(ms) {
      t = ms;
    },
  };
}
