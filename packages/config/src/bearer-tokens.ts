/**
 * Bearer tokens of the HTTPS door (FEEDS_HTTP_TOKENS_FILE): one line per token,
 * `<source> sha256:<hex of the token>`, `#` comments and blank lines ignored. Only the hash is
 * stored; a presented token is hashed and compared with every entry in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export interface TokenEntry {
  source: string;
  /** The SHA-256 of the token, 32 bytes. */
  hash: Buffer;
}

export interface ParsedTokens {
  entries: TokenEntry[];
  /** Lines that could not be read, with why (never the line itself: it may hold a pasted token). */
  problems: string[];
}

/** A new token: `pulse_` and 32 random bytes, base64url. */
export function newBearerToken(): string {
  return `pulse_${randomBytes(32).toString("base64url")}`;
}

/** The SHA-256 of a token, hex. */
export function hashBearerToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The line a tokens file holds for `token` of `source`. */
export function tokenFileLine(source: string, token: string): string {
  return `${source} sha256:${hashBearerToken(token)}`;
}

/** Reads a tokens file's text; `known` tells a seeded source from a typo. */
export function parseTokensFile(text: string, known: (source: string) => boolean): ParsedTokens {
  const entries: TokenEntry[] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^(\S+)\s+sha256:([0-9a-fA-F]{64})$/.exec(line);
    if (!m) {
      problems.push(`line ${i + 1}: expected "<source> sha256:<64 hex digits>"`);
      return;
    }
    if (!known(m[1]!)) {
      problems.push(`line ${i + 1}: source ${JSON.stringify(m[1])} is not in seeds/data/sources.json`);
      return;
    }
    entries.push({ source: m[1]!, hash: Buffer.from(m[2]!, "hex") });
  });
  return { entries, problems };
}

/**
 * The source a presented token speaks for, or null. Every entry is compared (no early exit) with
 * `timingSafeEqual` on fixed-length hashes, so the time taken says nothing about which matched.
 */
export function sourceOfToken(entries: readonly TokenEntry[], token: string): string | null {
  const h = createHash("sha256").update(token, "utf8").digest();
  let found: string | null = null;
  for (const e of entries) if (timingSafeEqual(e.hash, h) && found === null) found = e.source;
  return found;
}
