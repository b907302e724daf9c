import { feeds } from "@pulse/contracts";
import { replayTransaction, retireOutOfForce, type RetiredCount } from "@pulse/db";
import { areaMap, provinceCode } from "@pulse/seeds";
import type { CliConfig } from "../config";
import { openDb } from "../connect";
import { formatTable, printJson, type CliIo } from "../io";

const tables = ["events", "subscriber_gauges", "bts_stations", "esign_counts", "egov_counts"] as const;

/**
 * `pulse areas retired [--dry-run]`: finds the rows held in an area that was not in force on the
 * row's own UTC+7 day (districts' codes dated after 2025-07-01, from the simulator and decoder of
 * before the map of 2025), counts them per table, and moves them to `retired_rows`. One
 * transaction per feed holding the feed's lock, so it runs beside a live ingest. The areas' dates
 * are seeds' (`PULSE_SEEDS_DIR`). Idempotent: a second run finds nothing.
 */
export async function areasRetired(io: CliIo, config: CliConfig, o: { dryRun?: boolean; json?: boolean }): Promise<number> {
  const versions = areaMap.all.map((a) => ({ code: a.code, validFrom: a.valid_from, validTo: a.valid_to }));
  const db = await openDb(config);
  const counts: RetiredCount[] = [];
  try {
    for (const feed of feeds) {
      await replayTransaction(db, feeds.indexOf(feed), o.dryRun ?? false, async (trx) => {
        const r = await retireOutOfForce(trx, feed, versions, provinceCode);
        counts.push(...r.counts.map((c) => ({ ...c, feed })));
        return { changes: [], events: 0, log: r.log };
      });
    }
  } finally {
    await db.close();
  }
  const perTable = Object.fromEntries(tables.map((t) => [t, counts.filter((c) => c.table === t).reduce((n, c) => n + c.rows, 0)]));
  const total = Object.values(perTable).reduce((n, x) => n + x, 0);
  if (o.json) {
    printJson(io, { dry_run: o.dryRun ?? false, tables: perTable, total, areas: counts });
    return 0;
  }
  const name = (code: string) => areaMap.versionsOf(code).at(-1)?.name_vi ?? "(not a code of this province)";
  const byArea = new Map<string, { first: string; last: string; n: Record<string, number> }>();
  for (const c of counts) {
    const a = byArea.get(c.area) ?? { first: c.first_day, last: c.last_day, n: {} };
    a.first = c.first_day < a.first ? c.first_day : a.first;
    a.last = c.last_day > a.last ? c.last_day : a.last;
    a.n[c.table] = (a.n[c.table] ?? 0) + c.rows;
    byArea.set(c.area, a);
  }
  if (total === 0) {
    io.stdout.write("no rows held in an area out of force on their own day\n");
    return 0;
  }
  io.stdout.write(
    formatTable(
      ["area", "name", "days", ...tables],
      [...byArea.entries()]
        .sort((a, b) => a[0].localeCompare(b[0]))
        .map(([area, a]) => [area, name(area), a.first === a.last ? a.first : `${a.first} – ${a.last}`, ...tables.map((t) => a.n[t] ?? 0)]),
    ),
  );
  io.stdout.write(
    `${o.dryRun ? "would retire" : "retired"} ${total} rows held in areas not in force on their own day: ` +
      `${tables.map((t) => `${t} ${perTable[t]}`).join(", ")}` +
      `${o.dryRun ? " (dry run: nothing changed)" : " (moved to retired_rows)"}\n`,
  );
  return 0;
}
