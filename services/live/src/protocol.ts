import { liveMetrics } from "@pulse/contracts";

/** Topics a client may subscribe to: the change log's metrics and the ones the gateway derives. */
export const logTopics = Object.keys(liveMetrics) as readonly string[];
export const derivedTopics = ["kpi", "freshness", "rollup"] as const;
export const topics: readonly string[] = [...logTopics, ...derivedTopics];
const topicSet = new Set(topics);
export const isTopic = (t: string): boolean => topicSet.has(t);
const derivedSet = new Set<string>(derivedTopics);
export const isDerived = (t: string): boolean => derivedSet.has(t);

/** Codes of `error` frames (the socket stays open). */
export const errorCodes = {
  badJson: "bad_json",
  badRequest: "bad_request",
  unknownOp: "unknown_op",
  unknownTopic: "unknown_topic",
  tooManySubscriptions: "too_many_subscriptions",
  unknownSubscription: "unknown_subscription",
  badSince: "bad_since",
} as const;
export type ErrorCode = (typeof errorCodes)[keyof typeof errorCodes];

/** Close codes the gateway uses (besides ws's own 1009 for an oversize frame and 1006 for a cut socket). */
export const closeCodes = {
  /** Server shutting down: reconnect and resume. */
  goingAway: 1001,
  /** Too many bad frames. */
  policy: 1008,
  /** The socket stayed behind past its bound (slow reader): reconnect and resume. */
  tryAgainLater: 1013,
  /** Missing or wrong token. */
  unauthorized: 4401,
  /** Origin not allowed. */
  forbiddenOrigin: 4403,
} as const;

/** A validated subscription. */
export interface Subscription {
  id: string;
  topics: ReadonlySet<string>;
  /** Field → allowed values (equality; several values = any of them). */
  filter: readonly (readonly [string, ReadonlySet<string>])[];
  /** Canonical form without the id: equal signatures select the same entries. */
  signature: string;
}

export type Request =
  | { op: "subscribe"; sub: Subscription; since: number | null }
  | { op: "unsubscribe"; id: string }
  | { op: "error"; code: ErrorCode; message: string };

const maxIdLength = 128;
const maxFilterFields = 8;
const maxFilterValues = 256;

/** Parses one client frame. Never throws: a bad frame is an error to tell the client. */
export function parseRequest(text: string): Request {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { op: "error", code: errorCodes.badJson, message: "a frame must be one JSON object" };
  }
  if (!msg || typeof msg !== "object" || Array.isArray(msg))
    return { op: "error", code: errorCodes.badJson, message: "a frame must be one JSON object" };
  const m = msg as Record<string, unknown>;
  const bad = (message: string): Request => ({ op: "error", code: errorCodes.badRequest, message });
  const id = m.id;
  const idOk = typeof id === "string" && id.length > 0 && id.length <= maxIdLength;
  if (m.op === "unsubscribe") {
    if (!idOk) return bad(`unsubscribe needs an id (a string of 1 to ${maxIdLength} characters)`);
    return { op: "unsubscribe", id: id as string };
  }
  if (m.op !== "subscribe")
    return { op: "error", code: errorCodes.unknownOp, message: `unknown op ${JSON.stringify(m.op)}: expected subscribe or unsubscribe` };
  if (!idOk) return bad(`subscribe needs an id (a string of 1 to ${maxIdLength} characters)`);
  if (!Array.isArray(m.topics) || m.topics.length === 0 || !m.topics.every((t) => typeof t === "string"))
    return bad("topics must be a non-empty array of strings");
  const unknown = (m.topics as string[]).filter((t) => !isTopic(t));
  if (unknown.length > 0)
    return {
      op: "error",
      code: errorCodes.unknownTopic,
      message: `unknown topic ${unknown.map((t) => JSON.stringify(t.slice(0, 64))).join(", ")}; topics are ${topics.join(", ")}`,
    };
  const filter: [string, Set<string>][] = [];
  if (m.filter !== undefined && m.filter !== null) {
    if (typeof m.filter !== "object" || Array.isArray(m.filter)) return bad("filter must be an object of field: value");
    const fields = Object.entries(m.filter as Record<string, unknown>);
    if (fields.length > maxFilterFields) return bad(`a filter takes at most ${maxFilterFields} fields`);
    for (const [field, v] of fields) {
      const values = Array.isArray(v) ? v : [v];
      if (values.length === 0 || values.length > maxFilterValues || !values.every((x) => typeof x === "string" && x.length <= maxIdLength))
        return bad(`filter.${field} must be a string or an array of 1 to ${maxFilterValues} strings`);
      filter.push([field, new Set(values as string[])]);
    }
    filter.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  }
  let since: number | null = null;
  if (m.since !== undefined && m.since !== null) {
    if (typeof m.since !== "number" || !Number.isSafeInteger(m.since) || m.since < 0)
      return { op: "error", code: errorCodes.badSince, message: "since must be a whole number ≥ 0 (a seq this or another gateway sent)" };
    since = m.since;
  }
  const topicsSet = new Set(m.topics as string[]);
  const signature = JSON.stringify([[...topicsSet].sort(), filter.map(([f, vs]) => [f, [...vs].sort()])]);
  return { op: "subscribe", sub: { id: id as string, topics: topicsSet, filter, signature }, since };
}
