import { decode, parseFeedSubject } from "@pulse/contracts";

/** The key ingest keeps one version of: (source, id). */
export const recordKey = (source: string, id: string) => `${source}\u0000${id}`;

export interface RecordIdentity {
  source: string;
  id: string;
  revision: number;
}

const lenient = { maxBytes: Number.MAX_SAFE_INTEGER, maxFutureMs: Number.MAX_SAFE_INTEGER };

/**
 * What the payload says it is, whatever ingest will think of it: for its Msg-Id and its key. Null
 * when it names no id at all.
 */
export function identify(subject: string, payload: Uint8Array): RecordIdentity | null {
  const d = decode({ subject, payload, receivedMs: Date.now() }, lenient);
  if (d.ok) return { source: d.value.source, id: d.value.id, revision: d.value.revision };
  const route = parseFeedSubject(subject);
  return route && d.id !== null ? { source: route.source, id: d.id, revision: d.revision ?? 0 } : null;
}
