import pg from "pg";
const c = new pg.Client({ connectionString: "postgres://postgres@127.0.0.1:5432/test" });
await c.connect();
await c.query(`DROP TABLE IF EXISTS sb_events; CREATE TABLE sb_events (source text NOT NULL, id text NOT NULL, feed text NOT NULL, revision int NOT NULL, ts timestamptz NOT NULL, area text NOT NULL, data json NOT NULL, received_at timestamptz NOT NULL, stream_seq bigint NOT NULL, prev_revision int, prev_ts timestamptz, prev_area text, prev_data json, PRIMARY KEY (source,id));
CREATE INDEX sb_events_received_at ON sb_events ${process.env.BRIN ? 'USING brin' : ''} (received_at);`);
const N = 1000, B = Number(process.argv[2] ?? 50);
let seq = 0;
const mk = () => Array.from({ length: N }, () => { seq++; return { source: "dvc", id: `dvc-2026-${seq}`, feed: "egov", revision: 0, ts: new Date(Date.now() - seq).toISOString(), area: "412", data: { procedure: "1.00" + (seq % 50), agency: "sotttt" + (seq % 20), level: "district", channel: "online_full", status: "received" }, receivedAt: new Date(), streamSeq: seq }; });
const q = (s: string) => /[\\"]/.test(s) ? `"${s.replace(/[\\"]/g, "\\$&")}"` : `"${s}"`;
const arr = (xs: string[]) => `{${xs.map(q).join(",")}}`;
const RET = `RETURNING e.source, e.id, (e.xmax = 0) AS inserted, e.prev_revision, e.prev_ts, e.prev_area, e.prev_data`;
const UPD = `ON CONFLICT (source, id) DO UPDATE SET
      feed = excluded.feed, revision = excluded.revision, ts = excluded.ts, area = excluded.area, data = excluded.data,
      received_at = excluded.received_at, stream_seq = excluded.stream_seq,
      prev_revision = e.revision, prev_ts = e.ts, prev_area = e.area, prev_data = e.data
    WHERE e.revision < excluded.revision AND e.feed = excluded.feed`;
const variants: Record<string, [(rows: any[]) => any[], string]> = {
  plainJson: [(rows) => [JSON.stringify(rows)], `INSERT INTO sb_events AS e (source, id, feed, revision, ts, area, data, received_at, stream_seq) SELECT * FROM json_to_recordset($1::json) AS x(source text, id text, feed text, revision int, ts timestamptz, area text, data json, "receivedAt" timestamptz, "streamSeq" bigint)`],
  json: [(rows) => [JSON.stringify(rows)], `INSERT INTO sb_events AS e (source, id, feed, revision, ts, area, data, received_at, stream_seq)
    SELECT * FROM json_to_recordset($1::json) AS x(source text, id text, feed text, revision int, ts timestamptz, area text, data json, "receivedAt" timestamptz, "streamSeq" bigint) ${UPD} ${RET}`],
  arrays: [(rows) => [arr(rows.map(r=>r.source)),arr(rows.map(r=>r.id)),arr(rows.map(r=>r.feed)),`{${rows.map(r=>r.revision).join(",")}}`,arr(rows.map(r=>r.ts)),arr(rows.map(r=>r.area)),arr(rows.map(r=>JSON.stringify(r.data))),`{${rows.map(r=>r.receivedAt.getTime()).join(",")}}`,`{${rows.map(r=>r.streamSeq).join(",")}}`],
    `INSERT INTO sb_events AS e (source, id, feed, revision, ts, area, data, received_at, stream_seq)
    SELECT s, i, f, r, t, a, d::json, to_timestamp(ra / 1000.0), ss FROM unnest($1::text[],$2::text[],$3::text[],$4::int[],$5::timestamptz[],$6::text[],$7::text[],$8::float8[],$9::bigint[]) AS x(s,i,f,r,t,a,d,ra,ss) ${UPD} ${RET}`],
  arraysNoRet: [(rows) => [arr(rows.map(r=>r.source)),arr(rows.map(r=>r.id)),arr(rows.map(r=>r.feed)),`{${rows.map(r=>r.revision).join(",")}}`,arr(rows.map(r=>r.ts)),arr(rows.map(r=>r.area)),arr(rows.map(r=>JSON.stringify(r.data))),`{${rows.map(r=>r.receivedAt.getTime()).join(",")}}`,`{${rows.map(r=>r.streamSeq).join(",")}}`],
    `WITH ins AS (INSERT INTO sb_events AS e (source, id, feed, revision, ts, area, data, received_at, stream_seq)
    SELECT s, i, f, r, t, a, d::json, to_timestamp(ra / 1000.0), ss FROM unnest($1::text[],$2::text[],$3::text[],$4::int[],$5::timestamptz[],$6::text[],$7::text[],$8::float8[],$9::bigint[]) AS x(s,i,f,r,t,a,d,ra,ss) ${UPD} RETURNING e.xmax = 0 AS inserted, e.id, e.prev_revision) SELECT count(*) FILTER (WHERE inserted) AS n FROM ins`],
};
const tot: Record<string, { db: number; node: number }> = {};
for (let round = 0; round < 3; round++) for (const [name, [build, text]] of Object.entries(variants)) {
  let db = 0, node = 0;
  for (let b = 0; b < B; b++) { const rows = mk(); const t0 = performance.now(); const params = build(rows); const t1 = performance.now(); await c.query("BEGIN"); await c.query({ text, values: params, name }); await c.query("COMMIT"); db += performance.now() - t1; node += t1 - t0; }
  tot[name] ??= { db: 0, node: 0 }; tot[name].db += db; tot[name].node += node;
  console.log(name.padEnd(12), "query+commit µs/row", (1000 * db / (N * B)).toFixed(1), " build µs/row", (1000 * node / (N * B)).toFixed(2));
}
await c.query("DROP TABLE sb_events"); await c.end();
