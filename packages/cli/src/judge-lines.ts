import { decode, type Feed, type Reason } from "@pulse/contracts";
import { recordKey } from "@pulse/settle";
import type { InputRecord } from "./input-lines";

/** What `check` says of one line: as ingest would settle it, judged offline. */
export interface LineVerdict {
  line: number;
  subject: string | null;
  status: "ok" | "duplicate" | "refused";
  reason?: Reason;
  detail?: string;
  id: string | null;
  revision: number | null;
}

export interface JudgeOptions {
  maxBytes: number;
  maxFutureMs: number;
  /** The receipt time `future_time` is judged against (offline: now). */
  receivedMs: number;
}

/**
 * Judges every line with contracts' `decode()` (the one ingest runs) and then, as ingest does
 * against what it has stored, against the lines before it in the file: the same (source, id)
 * with the same or a lower revision is a duplicate, and one already used for another feed is
 * refused as `id_conflict` (with ingest's own detail). What only the database knows (records
 * stored before this file) is not judged here; `publish` learns it.
 */
export function judgeLines(records: readonly InputRecord[], o: JudgeOptions): LineVerdict[] {
  const seen = new Map<string, { feed: Feed; revision: number; line: number }>();
  return records.map((r): LineVerdict => {
    if (r.unsendable) return { line: r.line, subject: r.subject, status: "refused", ...r.unsendable, id: null, revision: null };
    const d = decode(
      { subject: r.subject!, payload: r.payload, receivedMs: o.receivedMs },
      { maxBytes: o.maxBytes, maxFutureMs: o.maxFutureMs },
    );
    if (!d.ok)
      return { line: r.line, subject: r.subject, status: "refused", reason: d.reason, detail: d.detail, id: d.id, revision: d.revision };
    const e = d.value;
    const k = recordKey(e.source, e.id);
    const before = seen.get(k);
    const base = { line: r.line, subject: r.subject, id: e.id, revision: e.revision };
    if (before && before.feed !== e.feed) {
      return {
        ...base,
        status: "refused",
        reason: "id_conflict",
        detail: `id ${JSON.stringify(e.id)} of ${e.source} is already a ${before.feed} record`,
      };
    }
    if (before && e.revision <= before.revision) {
      return {
        ...base,
        status: "duplicate",
        detail: `revision ${e.revision} is not above revision ${before.revision} of line ${before.line}: it changes nothing`,
      };
    }
    seen.set(k, { feed: e.feed, revision: e.revision, line: r.line });
    return { ...base, status: "ok" };
  });
}
