/** What one process of bench clients (live-clients.ts) reports, and several of them as one. */
export interface ClientsReport {
  seconds: number;
  frames: number;
  bytes: number;
  samples: number;
  closes: number;
  open: number;
  /** Commit → receipt, 1 ms buckets, as [ms, count, …] for the non-empty ones. */
  hist: number[];
  cpuShare: number;
  rssMiB: number;
}

/** The reports of one or more clients' processes as one: sums, and quantiles of the merged histogram. */
export function mergeReports(rs: ClientsReport[]) {
  const hist = new Map<number, number>();
  for (const r of rs) for (let i = 0; i < r.hist.length; i += 2) hist.set(r.hist[i]!, (hist.get(r.hist[i]!) ?? 0) + r.hist[i + 1]!);
  const ms = [...hist.keys()].sort((a, b) => a - b);
  const samples = rs.reduce((a, r) => a + r.samples, 0);
  const quantile = (p: number) => {
    const want = Math.ceil(samples * p);
    let seen = 0;
    for (const m of ms) if ((seen += hist.get(m)!) >= want && want > 0) return m;
    return NaN;
  };
  return {
    seconds: Math.max(...rs.map((r) => r.seconds)),
    frames: rs.reduce((a, r) => a + r.frames, 0),
    bytes: rs.reduce((a, r) => a + r.bytes, 0),
    samples,
    open: rs.reduce((a, r) => a + r.open, 0),
    p50: quantile(0.5),
    p99: quantile(0.99),
    max: quantile(1),
  };
}
