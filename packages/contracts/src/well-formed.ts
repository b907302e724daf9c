// A surrogate code unit that is not half of a pair. With the `u` flag a regular expression reads a
// string by code points, so a proper pair is one supplementary code point and only a lone half is
// in the category Cs. (`String.prototype.isWellFormed` says the same, but it is ES2024 and our
// TypeScript lib is ES2023.)
const loneSurrogate = /\p{Cs}/u;

/** Where a string that is not well-formed UTF-16 sits in a parsed JSON value, and what is wrong. */
export interface IllFormedString {
  /** Dotted path of the field, e.g. `id` or `data.agency`; for a field name, of its object ("" at the top). */
  path: string;
  /** True when the field's name, not its value, is ill-formed. */
  inFieldName: boolean;
  /** The code unit, as U+XXXX. */
  codeUnit: string;
  /** Its index in the string. */
  index: number;
}

/**
 * Finds the first string (value or field name) holding a lone surrogate; null when every string
 * is well-formed. `JSON.parse` turns an escaped `"\ud800"` into exactly such a string, which no
 * UTF-8 encoder can write: Postgres would store U+FFFD instead, so the id it returns would no
 * longer match the one we sent and two such ids would collide in one statement.
 */
export function findIllFormedString(value: unknown, path = ""): IllFormedString | null {
  if (typeof value === "string") return illFormedAt(value, path, false);
  if (typeof value !== "object" || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findIllFormedString(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  for (const [key, v] of Object.entries(value)) {
    const inName = illFormedAt(key, path, true);
    if (inName) return inName;
    const found = findIllFormedString(v, path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return null;
}

function illFormedAt(s: string, path: string, inFieldName: boolean): IllFormedString | null {
  const m = loneSurrogate.exec(s);
  if (!m) return null;
  const codeUnit = `U+${s.charCodeAt(m.index).toString(16).toUpperCase().padStart(4, "0")}`;
  return { path, inFieldName, codeUnit, index: m.index };
}
