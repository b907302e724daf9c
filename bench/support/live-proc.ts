import { readFileSync } from "node:fs";

/** CPU seconds (user + system) and resident memory (bytes) of one process, from /proc (Linux). */
export function procStats(pid: number): { cpuS: number; rssBytes: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const rssPages = Number(f[21]);
    return { cpuS: (Number(f[11]) + Number(f[12])) / 100, rssBytes: rssPages * 4096 };
  } catch {
    return { cpuS: NaN, rssBytes: NaN };
  }
}

/** Samples a process's RSS every `everyMs` and its CPU between start and stop. */
export function procMeter(pid: number, everyMs = 250) {
  const t0 = performance.now();
  const c0 = procStats(pid).cpuS;
  let maxRss = 0;
  const timer = setInterval(() => (maxRss = Math.max(maxRss, procStats(pid).rssBytes)), everyMs);
  return () => {
    clearInterval(timer);
    const s = procStats(pid);
    maxRss = Math.max(maxRss, s.rssBytes);
    const seconds = (performance.now() - t0) / 1000;
    return { cpuShare: (s.cpuS - c0) / seconds, rssMiB: s.rssBytes / 1048576, maxRssMiB: maxRss / 1048576 };
  };
}
