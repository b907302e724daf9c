import { sql, type Db } from "@pulse/db";

/** The figures `eventMix` predicts, read from Postgres in the same shape. */
export async function mixFigures(db: Db) {
  const egov = await sql<{
    status: string;
    n: number;
  }>`SELECT status, sum(count)::int AS n FROM egov_counts WHERE grain = 'day' GROUP BY 1 ORDER BY 1`.execute(db.db);
  const esign = await sql<{
    signed: boolean;
    n: number;
  }>`SELECT signed, sum(count)::int AS n FROM esign_counts WHERE grain = 'day' GROUP BY 1 ORDER BY 1`.execute(db.db);
  const gauges = await sql<{
    k: string;
    count: number;
  }>`SELECT source || '/' || area AS k, count FROM subscriber_gauges ORDER BY 1`.execute(db.db);
  // Minute and hour buckets must add up to the same totals as the days.
  const grains = await sql<{ grain: string; n: number }>`SELECT grain, sum(count)::int AS n FROM egov_counts GROUP BY 1 ORDER BY 1`.execute(
    db.db,
  );
  return {
    egovByStatus: Object.fromEntries(egov.rows.map((r) => [r.status, r.n])),
    esignBySigned: Object.fromEntries(esign.rows.map((r) => [String(r.signed), r.n])),
    gauges: Object.fromEntries(gauges.rows.map((r) => [r.k, r.count])),
    grainsAgree: new Set(grains.rows.map((r) => r.n)).size <= 1,
  };
}
