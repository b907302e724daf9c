/**
 * Postgres array literals, written here rather than by pg: a statement's rows travel as one
 * array per column (`unnest($1::text[], …)`), which Postgres reads with far less work than a JSON
 * array of objects (no per-row hash of field names), and pg's own conversion escapes element by
 * element through a slower general path.
 */

/** `{"a","b\"c"}`: every element quoted, so that no value (empty, `NULL`, spaces, braces) needs a rule of its own. */
export function textArray(values: readonly string[]): string {
  let escapes = false;
  for (const v of values) {
    if (v.includes("\0")) throw new Error("an array element holds a NUL character");
    if (!escapes && (v.includes("\\") || v.includes('"'))) escapes = true;
  }
  if (values.length === 0) return "{}";
  // One join: a string built by += is a chain of pieces, garbage for every element.
  const parts = escapes ? values.map((v) => v.replace(/[\\"]/g, "\\$&")) : values;
  return `{"${parts.join('","')}"}`;
}

/** `{1,2,3}` from finite numbers (integers, or floats Postgres reads back exactly). */
export function numberArray(values: readonly number[]): string {
  for (const v of values) if (!Number.isFinite(v)) throw new Error(`an array element is not a finite number: ${v}`);
  return `{${values.join(",")}}`;
}

/** `{t,f}`. */
export function booleanArray(values: readonly boolean[]): string {
  return `{${values.map((v) => (v ? "t" : "f")).join(",")}}`;
}

/** Times as Postgres reads them: RFC 3339 text kept as it came (microseconds), a Date in ISO form. */
export function timeArray(values: readonly (string | Date)[]): string {
  return textArray(values.map((v) => (typeof v === "string" ? v : v.toISOString())));
}
