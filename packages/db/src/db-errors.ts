/**
 * Sorts a database error into what the caller should do with it:
 * - `unavailable`: the connection or server failed (refused, reset, timed out, shutting down).
 *   Retry the same work when the database answers again; never blame the data.
 * - `retry`: a deadlock or serialization failure; retry now.
 * - `data`: the server refused the statement for its content (SQLSTATE class 22 data exception,
 *   23 integrity violation): isolate the offending input.
 * - `bug`: any other SQLSTATE (a syntax error, an undefined column): our fault, not the data's.
 *   Never blame a message for it.
 */
export function classifyDbError(err: unknown): "unavailable" | "retry" | "data" | "bug" {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  if (/^[0-9A-Z]{5}$/.test(code)) {
    const cls = code.slice(0, 2);
    if (cls === "08" || cls === "53" || cls === "57" || cls === "58" || code === "3D000") return "unavailable";
    if (code === "40001" || code === "40P01") return "retry";
    if (cls === "22" || cls === "23") return "data";
    return "bug";
  }
  // No SQLSTATE: a socket error (ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT), a pool or client
  // timeout, "Connection terminated unexpectedly", "Client has encountered a connection error".
  return "unavailable";
}
