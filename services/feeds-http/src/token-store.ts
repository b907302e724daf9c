import { statSync, readFileSync } from "node:fs";
import { parseTokensFile, sourceOfToken, type Logger, type TokenEntry } from "@pulse/config";
import { sources } from "@pulse/seeds";

const seeded = new Set(sources.map((s) => s.id));

/**
 * The tokens file, re-read when its size or modification time changes (checked at most once a
 * second, on a request: `pnpm start` is one process, so no signal can ask for it). A file that
 * disappears or cannot be read leaves no token valid until it is back. Tokens and hashes are never
 * logged; problems name the line number only.
 */
export class TokenStore {
  private entries: TokenEntry[] = [];
  private seen = "";
  private checkedAt = 0;

  constructor(
    readonly file: string | undefined,
    private readonly log: Logger,
  ) {
    this.refresh(true);
  }

  /** How many tokens are in force. */
  get size(): number {
    this.refresh();
    return this.entries.length;
  }

  /** The source the bearer token speaks for, or null. */
  sourceOf(token: string): string | null {
    this.refresh();
    return sourceOfToken(this.entries, token);
  }

  private refresh(force = false): void {
    if (!this.file) return;
    const now = Date.now();
    if (!force && now - this.checkedAt < 1_000) return;
    this.checkedAt = now;
    let stamp: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch (err) {
      if (this.seen !== "missing")
        this.log.warn(`tokens file ${this.file} cannot be read: every request is refused until it can`, { error: (err as Error).message });
      this.seen = "missing";
      this.entries = [];
      return;
    }
    if (stamp === this.seen) return;
    try {
      const parsed = parseTokensFile(readFileSync(this.file, "utf8"), (s) => seeded.has(s));
      for (const p of parsed.problems) this.log.warn(`tokens file ${this.file}: ${p} (ignored)`);
      this.entries = parsed.entries;
      this.seen = stamp;
      this.log.info(
        `tokens file ${this.file}: ${parsed.entries.length} token(s) for ${new Set(parsed.entries.map((e) => e.source)).size} source(s)`,
      );
    } catch (err) {
      this.log.warn(`tokens file ${this.file} cannot be read`, { error: (err as Error).message });
    }
  }
}
