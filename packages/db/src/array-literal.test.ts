import { sql } from "kysely";
import { expect, it } from "vitest";
import { useScratchDb } from "./scratch-db";
import { numberArray, textArray } from "./sql/array-literal";

const scratch = useScratchDb("arrays");

it("reads back every text exactly, whatever it holds", async () => {
  const awkward = [
    "",
    "NULL",
    "null",
    " lead and trail ",
    "a,b",
    "{braces}",
    '"quoted"',
    "back\\slash",
    '\\"both\\\\"',
    "it's",
    "dấu tiếng Việt",
    "emoji 🚀",
    "\u2028\u00a0\t",
    "E'x' $$",
    "}",
    "{",
    ",",
  ];
  const r = await sql<{
    v: string;
    n: string;
  }>`SELECT v, n::text FROM unnest(${textArray(awkward)}::text[]) WITH ORDINALITY AS x(v, n)`.execute(scratch.db.db);
  expect(r.rows.map((x) => x.v)).toEqual(awkward);
  // Without any quote or backslash (the path that joins without escaping), and a lone empty text.
  for (const plain of [awkward.filter((v) => !v.includes('"') && !v.includes("\\")), [""], ["NULL"]]) {
    const p = await sql<{ v: string }>`SELECT unnest(${textArray(plain)}::text[]) AS v`.execute(scratch.db.db);
    expect(p.rows.map((x) => x.v)).toEqual(plain);
  }
  expect(await sql`SELECT cardinality(${textArray([])}::text[]) AS n`.execute(scratch.db.db).then((x) => x.rows[0])).toEqual({ n: 0 });
});

it("reads back numbers exactly, and refuses what would not survive", async () => {
  const nums = [0, -1, 2_147_483_647, 1_764_118_500_123, 9_007_199_254_740_991];
  const r = await sql<{ v: string }>`SELECT unnest(${numberArray(nums)}::bigint[])::text AS v`.execute(scratch.db.db);
  expect(r.rows.map((x) => Number(x.v))).toEqual(nums);
  // Milliseconds as float8, divided in SQL: exact to the microsecond.
  const t = await sql<{
    v: string;
  }>`SELECT to_char(to_timestamp(unnest(${numberArray([1_764_118_500_123, 1_764_118_500_999])}::float8[]) / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS v`.execute(
    scratch.db.db,
  );
  expect(t.rows.map((x) => x.v)).toEqual(["2025-11-26T00:55:00.123000", "2025-11-26T00:55:00.999000"]);
  expect(() => numberArray([1, Number.NaN])).toThrow(/finite/);
  expect(() => numberArray([Infinity])).toThrow(/finite/);
  expect(() => textArray(["a\u0000b"])).toThrow(/NUL/);
});
