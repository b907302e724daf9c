import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";

/** Thrown when a live process already holds a `PidLock`. */
export class LockedError extends Error {
  readonly code = "PULSE_LOCKED";
  constructor(
    readonly what: string,
    readonly pid: number,
    readonly lockPath: string,
  ) {
    super(
      `${what} is in use by pid ${pid} (lock ${lockPath}): stop that process, or use another PULSE_DATA_DIR. ` +
        `A lock left by a dead process is taken over by itself.`,
    );
    this.name = "LockedError";
  }
}

export interface PidLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/** True when a process with this pid exists (EPERM: it exists, as another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The pid on the first line of a pid file (ours, or Postgres's `postmaster.pid`), if readable. */
export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, "utf8").split("\n", 1)[0]!.trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes an exclusive lock file holding our pid (O_EXCL: of two processes starting at once,
 * exactly one creates it). A lock whose pid is dead is taken over; a live one throws `LockedError`
 * naming `what` and the pid.
 */
export function takePidLock(path: string, what: string): PidLock {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return {
        path,
        release() {
          if (readPidFile(path) !== process.pid) return;
          try {
            unlinkSync(path);
          } catch {
            /* gone already */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const pid = readPidFile(path);
    if (pid !== undefined && isAlive(pid)) throw new LockedError(what, pid, path);
    // Dead owner (or an unreadable file from a crash mid-write): take it over.
    try {
      unlinkSync(path);
    } catch {
      /* someone else took it over first: try again */
    }
  }
  throw new Error(`could not take the lock ${path}: another process keeps taking it`);
}
