import { isFeed, type Feed } from "@pulse/contracts";
import { UsageError } from "../cli-error";
import type { CliConfig } from "../config";
import { printJson, type CliIo } from "../io";
import { parseLines, readInput } from "../input-lines";
import { judgeLines, type LineVerdict } from "../judge-lines";

export interface RouteOptions {
  feed?: string;
  source?: string;
}

/** `--feed` and `--source` go together; checked here so that both commands say it the same way. */
export function routeOf(o: RouteOptions): { feed: Feed; source: string } | null {
  if (o.feed === undefined && o.source === undefined) return null;
  if (o.feed === undefined || o.source === undefined)
    throw new UsageError("--feed and --source go together: give both, or neither (then every line names its subject)");
  if (!isFeed(o.feed)) throw new UsageError(`--feed must be one of subscribers, bts, esign, egov; got ${JSON.stringify(o.feed)}`);
  return { feed: o.feed, source: o.source };
}

export interface CheckSummary {
  total: number;
  ok: number;
  duplicate: number;
  refused: number;
  byReason: Record<string, number>;
}

export function summarize(v: readonly { status: string; reason?: string }[]): CheckSummary {
  const byReason: Record<string, number> = {};
  for (const x of v) if (x.reason && x.status === "refused") byReason[x.reason] = (byReason[x.reason] ?? 0) + 1;
  const n = (s: string) => v.filter((x) => x.status === s).length;
  return { total: v.length, ok: n("ok") + n("accepted"), duplicate: n("duplicate"), refused: n("refused"), byReason };
}

/** `pulse check FILE|-`: offline, contracts' decode() on every line. Exit 1 if any line is refused. */
export async function check(
  io: CliIo,
  config: CliConfig,
  file: string,
  o: RouteOptions & { json?: boolean; receivedAt?: string },
): Promise<number> {
  const route = routeOf(o);
  let receivedMs = Date.now();
  if (o.receivedAt !== undefined) {
    receivedMs = Date.parse(o.receivedAt);
    if (!Number.isFinite(receivedMs))
      throw new UsageError(`--received-at must be a time such as 2026-11-26T09:15:00+07:00; got ${JSON.stringify(o.receivedAt)}`);
  }
  const records = parseLines(await readInput(file, io.stdin), route);
  const verdicts = judgeLines(records, { maxBytes: config.maxBytes, maxFutureMs: config.maxFutureMs, receivedMs });
  const summary = summarize(verdicts);
  if (o.json) printJson(io, { lines: verdicts, summary });
  else {
    for (const v of verdicts) io.stdout.write(`${verdictLine(v)}\n`);
    io.stdout.write(summaryLine(summary, "ok"));
  }
  return summary.refused > 0 ? 1 : 0;
}

export function verdictLine(v: Pick<LineVerdict, "line" | "status" | "reason" | "detail">): string {
  if (v.status === "refused") return `line ${v.line}: refused ${v.reason}: ${v.detail}`;
  return v.detail ? `line ${v.line}: ${v.status} (${v.detail})` : `line ${v.line}: ${v.status}`;
}

export function summaryLine(s: CheckSummary, okWord: string): string {
  const reasons = Object.entries(s.byReason)
    .sort()
    .map(([r, n]) => `${r} ${n}`)
    .join(", ");
  return `${s.total} lines: ${s.ok} ${okWord}, ${s.duplicate} duplicate, ${s.refused} refused${reasons ? ` (${reasons})` : ""}\n`;
}
