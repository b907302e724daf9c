import type { Db } from "@pulse/db";
import { CliError } from "../cli-error";
import type { CliConfig } from "../config";
import { announceWriteTarget, openDb, openNats } from "../connect";
import { printJson, type CliIo } from "../io";
import { parseLines, readInput } from "../input-lines";
import { progress } from "../progress";
import { sendAndSettle } from "@pulse/settle";
import { routeOf, summarize, summaryLine, type RouteOptions } from "./check";

/**
 * `pulse publish FILE|-`: sends every line for real (Msg-Id `<source>:<id>:<revision>`, many in
 * flight) and reports how each was settled. Exit 1 if any line is refused or unsettled.
 */
export async function publish(
  io: CliIo,
  config: CliConfig,
  file: string,
  o: RouteOptions & { json?: boolean; timeout: string; database: boolean; inFlight: string },
): Promise<number> {
  const route = routeOf(o);
  const timeoutMs = seconds(o.timeout, "--timeout") * 1000;
  const inFlight = Number(o.inFlight);
  if (!Number.isInteger(inFlight) || inFlight < 1 || inFlight > 10_000)
    throw new CliError(`--in-flight must be 1..10000, got ${o.inFlight}`, 2);
  const records = parseLines(await readInput(file, io.stdin), route);
  announceWriteTarget(io, config, "nats");
  const nc = await openNats(config, "pulse-cli-publish");
  // The database tells a new record from one ingest already held; without it (a producer's
  // engineer may have NATS only) those two are not told apart.
  let db: Db | null = null;
  if (o.database) {
    db = await openDb(config).catch((err: Error) => {
      io.stderr.write(`note: ${err.message}; going on without it (accepted and ingest's duplicates are not told apart)\n`);
      return null;
    });
  }
  const bar = progress(io, records.length, "settled", !o.json);
  try {
    const settled = await sendAndSettle(
      nc,
      records.map((r) => ({ tag: r.line, subject: r.subject, payload: r.payload, unsendable: r.unsendable })),
      { names: config.names, db, timeoutMs, inFlight, onSettled: () => bar.tick() },
    );
    bar.stop();
    const lines = settled.map((s) => ({ line: s.tag, ...s, tag: undefined }));
    const summary = { ...summarize(settled), unsettled: settled.filter((s) => s.status === "unsettled").length };
    if (o.json) printJson(io, { lines, summary });
    else {
      for (const s of settled) {
        const where = s.seq !== undefined ? ` [seq ${s.seq}]` : "";
        const by = s.by === "jetstream" ? "JetStream" : s.by === "cli" ? "not sent" : "ingest";
        if (s.status === "refused")
          io.stdout.write(`line ${s.tag}: refused ${s.reason ? `${s.reason}: ` : ""}${s.detail} (${by})${where}\n`);
        else io.stdout.write(`line ${s.tag}: ${s.status}${s.detail ? ` (${s.detail})` : ` (${by})`}${where}\n`);
      }
      io.stdout.write(summaryLine(summary, "accepted").replace(/\n$/, summary.unsettled ? `, ${summary.unsettled} unsettled\n` : "\n"));
      const unsettled = settled.filter((s) => s.status === "unsettled").map((s) => s.tag);
      if (unsettled.length) io.stdout.write(`not settled: lines ${unsettled.join(", ")}\n`);
    }
    return summary.refused > 0 || summary.unsettled > 0 ? 1 : 0;
  } finally {
    bar.stop();
    await nc.drain().catch(() => nc.close());
    await db?.close();
  }
}

export function seconds(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${flag} must be a number of seconds above 0, got ${JSON.stringify(v)}`, 2);
  return n;
}
