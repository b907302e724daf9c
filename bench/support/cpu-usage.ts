import { readdirSync, readFileSync } from "node:fs";

/** CPU seconds used so far by each process whose command name matches, by pid, from /proc (Linux). */
function cpuByPid(match: (comm: string) => boolean): Map<string, number> {
  const tick = 100; // USER_HZ: 100 on every Linux this runs on
  const out = new Map<string, number>();
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (!match(comm)) continue;
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(pid, (Number(f[11]) + Number(f[12])) / tick); // utime, stime
    } catch {
      /* the process ended meanwhile */
    }
  }
  return out;
}

/**
 * CPU a group's processes used between two readings: of the processes alive at the second, from
 * the first reading (or from their start, for those started since). A process that ended in
 * between is not counted (its use is gone from /proc): a short-lived backend at most, never a
 * negative figure.
 */
function cpuSince(before: Map<string, number>, now: Map<string, number>): number {
  let total = 0;
  for (const [pid, s] of now) total += s - (before.get(pid) ?? 0);
  return total;
}

const groups = {
  postgres: (c: string) => c.startsWith("postgres"),
  "nats-server": (c: string) => c.startsWith("nats-server"),
};

/**
 * CPU used by Postgres and nats-server (all their processes, machine-wide) and by this Node
 * process, between this call and the returned function's call: where an event's cost goes.
 */
export function cpuMeter(): () => Record<string, number> {
  const before = Object.fromEntries(Object.entries(groups).map(([k, m]) => [k, cpuByPid(m)]));
  const node0 = process.cpuUsage();
  return () => {
    const out: Record<string, number> = {};
    for (const [k, m] of Object.entries(groups)) out[k] = cpuSince(before[k]!, cpuByPid(m));
    const n = process.cpuUsage(node0);
    out["node (this process)"] = (n.user + n.system) / 1e6;
    return out;
  };
}

/** Share of the machine's CPU time that was busy (not idle or waiting on I/O) between this call and the returned function's call, 0–1. */
export function machineBusy(): () => number {
  const read = () => {
    // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice).
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const idle = f[3]! + f[4]!;
    return { idle, total: f.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  return () => {
    const b = read();
    return 1 - (b.idle - a.idle) / (b.total - a.total);
  };
}
