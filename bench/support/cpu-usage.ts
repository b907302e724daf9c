import { readdirSync, readFileSync } from "node:fs";

/** CPU seconds used so far by every process whose command name matches, from /proc (Linux). */
function cpuSeconds(match: (comm: string) => boolean): number {
  const tick = 100; // USER_HZ: 100 on every Linux this runs on
  let total = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (!match(comm)) continue;
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += (Number(f[11]) + Number(f[12])) / tick; // utime, stime
    } catch {
      /* the process ended meanwhile */
    }
  }
  return total;
}

const groups = {
  postgres: (c: string) => c.startsWith("postgres"),
  "nats-server": (c: string) => c.startsWith("nats-server"),
};

/**
 * CPU used by Postgres and nats-server (all their processes, machine-wide) and by this Node
 * process, between `start()` and the returned function's call: where an event's cost goes.
 */
export function cpuMeter(): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(groups).map(([k, m]) => [k, cpuSeconds(m)]));
  const node0 = process.cpuUsage();
  return () => {
    const out: Record<string, number> = {};
    for (const [k, m] of Object.entries(groups)) out[k] = cpuSeconds(m) - before[k]!;
    const n = process.cpuUsage(node0);
    out["node (this process)"] = (n.user + n.system) / 1e6;
    return out;
  };
}

/** Share of the machine's CPU time that was busy (not idle or waiting on I/O) between `start()` and the returned function's call, 0–1. */
export function machineBusy(): () => number {
  const read = () => {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3]! + f[4]!;
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  return () => {
    const b = read();
    return 1 - (b.idle - a.idle) / (b.total - a.total);
  };
}
