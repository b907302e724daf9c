import pg from "pg";

export type DbErrorKind = "unavailable" | "retry" | "data" | "bug";

// Node's socket and name-resolution failures: the server or the path to it is gone.
const connectionErrnos = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "ENETRESET",
  "EADDRNOTAVAIL",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

// What pg and pg-pool throw, with no code, when a connection fails, is cut or times out
// (lib/client.js, pg-pool/index.js). "Connection terminated" also covers "… unexpectedly" and
// "… due to connection timeout"; "timeout expired" is the client's own connect timeout and
// "Query read timeout" our query_timeout on a connection that went silent.
const connectionMessages =
  /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect|timeout expired$|Query read timeout$)/;

/**
 * Sorts a database error into what the caller should do with it:
 * - `unavailable`: the connection or server failed (refused, reset, timed out, shutting down).
 *   Retry the same work when the database answers again; never blame the data.
 * - `retry`: a deadlock or serialization failure; retry now.
 * - `data`: the server refused the statement for its content (SQLSTATE class 22 data exception,
 *   23 integrity violation): isolate the offending input.
 * - `bug`: any other SQLSTATE (a syntax error, an undefined column), and any error that is
 *   neither from the server nor a known connection failure (a TypeError in our own code): our
 *   fault, not the data's, and waiting for the database would wait forever. Never blame a
 *   message for it.
 *
 * `code` means an SQLSTATE only on an error the server sent (pg's DatabaseError): Node's system
 * errors carry a `code` too, and `EPIPE` has the five characters of an SQLSTATE.
 */
export function classifyDbError(err: unknown): DbErrorKind {
  if (isServerError(err)) {
    const code = err.code ?? "";
    const cls = code.slice(0, 2);
    if (cls === "08" || cls === "53" || cls === "57" || cls === "58" || code === "3D000") return "unavailable";
    if (code === "40001" || code === "40P01") return "retry";
    if (cls === "22" || cls === "23") return "data";
    return "bug";
  }
  return isConnectionFailure(err) ? "unavailable" : "bug";
}

/**
 * An error Postgres sent. pg builds it as a DatabaseError (from pg-protocol) with `severity` set;
 * the duck test also holds for a copy of pg-protocol other than the one this package loads.
 */
function isServerError(err: unknown): err is { code?: string } {
  if (err instanceof pg.DatabaseError) return true;
  const e = err as { name?: unknown; severity?: unknown; code?: unknown } | null;
  return typeof e === "object" && e !== null && e.name === "error" && typeof e.severity === "string" && typeof e.code === "string";
}

function isConnectionFailure(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === "string" && connectionErrnos.has(e.code)) return true;
  if (typeof e.message === "string" && connectionMessages.test(e.message)) return true;
  // Node's happy-eyeballs connect (a host name with several addresses) fails with an
  // AggregateError of one socket error per address.
  return Array.isArray(e.errors) && e.errors.length > 0 && e.errors.every(isConnectionFailure);
}
