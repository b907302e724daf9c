import { randomBytes } from "node:crypto";

/**
 * `<prefix>_<8 random chars>`, using only `[A-Za-z0-9_]` so it is safe in stream, consumer and
 * subject names and in database names. The prefix is cleaned and cut to 16 characters.
 */
export function uniqueTag(prefix = "t"): string {
  const clean = prefix.replace(/[^A-Za-z0-9_]/g, "_").slice(0, 16) || "t";
  // base36 of random bytes, lowercased, so the same tag also works unquoted in SQL.
  const rand = BigInt(`0x${randomBytes(6).toString("hex")}`)
    .toString(36)
    .padStart(8, "0")
    .slice(-8);
  return `${clean}_${rand}`;
}
