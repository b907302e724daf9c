import { freePort, sharedPgUrl } from "@pulse/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyDbError } from "./db-errors";

// Real errors come from the machine's Postgres; nothing is written there but a temporary table.
const pgUrl = sharedPgUrl();

/** What pg builds from a server's ErrorResponse. */
function serverError(code: string, message = "from the server"): pg.DatabaseError {
  const e = new pg.DatabaseError(message, 0, "error");
  e.severity = "ERROR";
  e.code = code;
  return e;
}

/** What Node's net module rejects with. */
function systemError(code: string, syscall = "connect"): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code} 127.0.0.1:5432`), { code, errno: -1, syscall });
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => expect.unreachable("should have failed"),
    (err: unknown) => err,
  );

describe("classifyDbError", () => {
  const client = new pg.Client({ connectionString: pgUrl });
  beforeAll(() => client.connect());
  afterAll(() => client.end());

  it("sorts real server errors by SQLSTATE", async () => {
    expect(classifyDbError(await rejection(client.query("SELEC 1")))).toBe("bug"); // 42601
    expect(classifyDbError(await rejection(client.query("SELECT no_such_column FROM pg_class")))).toBe("bug"); // 42703
    expect(classifyDbError(await rejection(client.query("SELECT 1 / 0")))).toBe("data"); // 22012
    await client.query("CREATE TEMP TABLE classify_t (k int PRIMARY KEY)");
    expect(classifyDbError(await rejection(client.query("INSERT INTO classify_t VALUES (1), (1)")))).toBe("data"); // 23505
    const bad = new pg.Client({ connectionString: pgUrl.replace(/\/[^/]*$/, "/pulse_no_such_database") });
    expect(classifyDbError(await rejection(bad.connect()))).toBe("unavailable"); // 3D000
  });

  it("classes a session the server ends as unavailable", async () => {
    const victim = new pg.Client({ connectionString: pgUrl });
    await victim.connect();
    victim.on("error", () => {});
    const pid = (await victim.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    const sleeping = rejection(victim.query("SELECT pg_sleep(10)"));
    await new Promise((r) => setTimeout(r, 100));
    await client.query("SELECT pg_terminate_backend($1)", [pid]);
    const err = await sleeping; // 57P01, or "Connection terminated unexpectedly" if the socket closes first
    expect(classifyDbError(err)).toBe("unavailable");
    expect(classifyDbError(await rejection(victim.query("SELECT 1")))).toBe("unavailable");
    await victim.end().catch(() => {});
  });

  it("classes a refused connection as unavailable", async () => {
    const port = await freePort(); // free a moment ago: nothing listens there
    const c = new pg.Client({ host: "127.0.0.1", port, user: "postgres" });
    const err = await rejection(c.connect());
    expect((err as { code?: string }).code).toBe("ECONNREFUSED");
    expect(classifyDbError(err)).toBe("unavailable");
  });

  it("classes retry, unavailable and bug SQLSTATEs of pg's DatabaseError", () => {
    expect(classifyDbError(serverError("40001"))).toBe("retry");
    expect(classifyDbError(serverError("40P01"))).toBe("retry");
    expect(classifyDbError(serverError("57P01"))).toBe("unavailable");
    expect(classifyDbError(serverError("53300"))).toBe("unavailable");
    expect(classifyDbError(serverError("08006"))).toBe("unavailable");
    expect(classifyDbError(serverError("22P02"))).toBe("data");
    expect(classifyDbError(serverError("21000"))).toBe("bug");
    expect(classifyDbError(serverError("42P01"))).toBe("bug");
    // Duck-typed: a DatabaseError from another copy of pg-protocol.
    expect(classifyDbError({ name: "error", severity: "ERROR", code: "23505", message: "duplicate key" })).toBe("data");
  });

  it("classes Node's socket errors as unavailable, even EPIPE, which looks like an SQLSTATE", () => {
    for (const code of ["EPIPE", "ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]) {
      expect(classifyDbError(systemError(code)), code).toBe("unavailable");
    }
    const aggregate = Object.assign(new AggregateError([systemError("ECONNREFUSED"), systemError("ECONNREFUSED")], "connect failed"), {
      code: "ECONNREFUSED",
    });
    expect(classifyDbError(aggregate)).toBe("unavailable");
    expect(classifyDbError(new AggregateError([systemError("ECONNREFUSED")], ""))).toBe("unavailable");
  });

  it("classes pg's and pg-pool's connection messages as unavailable", () => {
    for (const message of [
      "Connection terminated",
      "Connection terminated unexpectedly",
      "Connection terminated due to connection timeout",
      "Client has encountered a connection error and is not queryable",
      "Client was closed and is not queryable",
      "timeout exceeded when trying to connect",
      "timeout expired",
      "Query read timeout",
    ]) {
      expect(classifyDbError(new Error(message)), message).toBe("unavailable");
    }
  });

  it("classes everything else as a bug, so that nothing waits forever for a database that is up", () => {
    expect(classifyDbError(new TypeError("Cannot read properties of undefined (reading 'id')"))).toBe("bug");
    expect(classifyDbError(new RangeError("Invalid time value"))).toBe("bug");
    expect(classifyDbError(Object.assign(new Error("looks like a state"), { code: "ABCDE" }))).toBe("bug");
    expect(classifyDbError(new Error("Cannot use a pool after calling end on the pool"))).toBe("bug");
    expect(classifyDbError(new AggregateError([new TypeError("x"), systemError("ECONNRESET")], ""))).toBe("bug");
    expect(classifyDbError("a string")).toBe("bug");
    expect(classifyDbError(undefined)).toBe("bug");
  });
});
