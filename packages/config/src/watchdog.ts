import { spawn } from "node:child_process";

/** A watchdog process: see `startWatchdog`. */
export interface Watchdog {
  /** Ends the watchdog and its `sleep` (its whole process group). Call once the child has stopped. */
  stop(): void;
}

/**
 * Starts a detached shell that sends `signal` to `childPid` should this process die first (SIGKILL,
 * a crash) while the child still runs: a server we started must not outlive us and hold its data
 * directory. It exits by itself within half a second of either one's end.
 */
export function startWatchdog(childPid: number, signal: "INT" | "TERM"): Watchdog {
  const watchdog = spawn(
    "/bin/sh",
    [
      "-c",
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${childPid} 2>/dev/null; do sleep 0.5; done; kill -0 ${childPid} 2>/dev/null && kill -${signal} ${childPid}`,
    ],
    { detached: true, stdio: "ignore" },
  );
  watchdog.unref();
  return {
    stop() {
      if (watchdog.exitCode !== null || !watchdog.pid) return;
      try {
        process.kill(-watchdog.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
    },
  };
}
