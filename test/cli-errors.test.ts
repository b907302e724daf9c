import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPulse, spawnPulse, type PulseRun } from "@pulse/cli/testing";
import { createTestDatabase, freePort, type TestDatabase } from "@pulse/testkit";

// As a user meets them: the real bin in a child process (the rest of the cases in-process, the
// same runCli, to keep the file quick on a busy machine). Help exits 0, bad usage 2, a broker or
// database that does not answer 1, each with a message that says what to do.
describe("pulse as a command", () => {
  let database: TestDatabase;
  let deadPort: number;
  beforeAll(async () => {
    database = await createTestDatabase("cli_errors");
    deadPort = await freePort();
  });
  afterAll(async () => {
    await database?.drop();
  });
  /** At most three children at once on two cores. */
  const all = async (runs: (() => Promise<PulseRun>)[]) => {
    const out: PulseRun[] = [];
    for (let i = 0; i < runs.length; i += 3) out.push(...(await Promise.all(runs.slice(i, i + 3).map((f) => f()))));
    return out;
  };

  it("--help on each command exits 0 and names its options", async () => {
    const cmds = [
      [],
      ["status"],
      ["check"],
      ["publish"],
      ["dlq"],
      ["dlq", "list"],
      ["dlq", "show"],
      ["dlq", "retry"],
      ["dlq", "purge"],
      ["replay"],
      ["report"],
      ["areas"],
      ["areas", "retired"],
    ];
    const runs = await all(cmds.map((c, i) => () => (i < 3 ? spawnPulse : runPulse)([...c, "--help"], {})));
    runs.forEach((r, i) => {
      expect([cmds[i]!.join(" "), r.code]).toEqual([cmds[i]!.join(" "), 0]);
      expect(r.stdout).toMatch(/^Usage: pulse/);
    });
    expect(runs[2]!.stdout).toMatch(/--feed <feed>[\s\S]*--json/);
    expect(runs[9]!.stdout).toMatch(/--from <day>[\s\S]*--dry-run/);
    expect(runs[10]!.stdout).toMatch(/--format <format>.*\(choices: "table", "csv", "xlsx"/);
    expect(runs[12]!.stdout).toMatch(/--dry-run[\s\S]*--json/);
  });

  it("bad usage exits 2 with a message", async () => {
    const cases: [string[], RegExp][] = [
      [[], /Usage: pulse/],
      [["frobnicate"], /unknown command 'frobnicate'/],
      [["check"], /missing required argument 'file'/],
      [["check", "-", "--feed", "egov"], /--feed and --source go together/],
      [["check", "-", "--feed", "weather", "--source", "dvc"], /--feed must be one of/],
      [["replay", "--from", "2026-11-20"], /required option '--to <day>' not specified/],
      [["report", "--month", "2026-11", "--format", "pdf"], /Allowed choices are table, csv, xlsx/],
      [["status", "--bogus"], /unknown option '--bogus'/],
    ];
    const runs = await all(
      cases.map(
        ([args]) =>
          () =>
            spawnPulse(args, {}),
      ),
    );
    runs.forEach((r, i) => {
      expect([cases[i]![0].join(" "), r.code]).toEqual([cases[i]![0].join(" "), 2]);
      expect(r.stderr, cases[i]![0].join(" ")).toMatch(cases[i]![1]);
    });
    const cfg = await spawnPulse(["check", "-"], { INGEST_MAX_BYTES: "lots" });
    expect(cfg.code).toBe(2);
    expect(cfg.stderr).toMatch(/bad configuration: INGEST_MAX_BYTES: expected a whole number, got "lots"/);
  });

  it("an unreachable NATS or database: exit 1, and what to do", async () => {
    const noNats = { NATS_URL: `nats://127.0.0.1:${deadPort}`, DATABASE_URL: database.url };
    const noDb = { NATS_URL: "nats://127.0.0.1:4222", DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPort}/pulse` };
    const [publish, status, dlq, replay, report, embedded] = await all([
      () => spawnPulse(["publish", "-", "--no-database"], noNats, { stdin: '{"subject":"feeds.egov.dvc","v":1}\n' }),
      () => spawnPulse(["status"], { ...noNats, LIVE_ADMIN_URL: `http://127.0.0.1:${deadPort}` }),
      () => spawnPulse(["dlq", "list"], noDb),
      () => runPulse(["replay", "--from", "2026-11-20", "--to", "2026-11-20"], noDb),
      () => runPulse(["report", "--month", "2026-11"], noDb),
      // No variable and no running start (an empty PULSE_DATA_DIR): the default address, said so.
      () => spawnPulse(["dlq", "list"], { EMBEDDED_PG_PORT: String(deadPort), PULSE_DATA_DIR: "/nonexistent/pulse-data" }),
    ]);
    expect(publish!.code).toBe(1);
    expect(publish!.stderr).toMatch(new RegExp(`cannot reach NATS: no NATS server at nats://127.0.0.1:${deadPort} .*set NATS_URL`));
    // status shows what it can (the database is there) and says NATS is not.
    expect(status!.code).toBe(1);
    expect(status!.stdout).toMatch(/\nNATS: cannot reach NATS: no NATS server at/);
    expect(status!.stdout).toMatch(/gateway not reachable/);
    expect(status!.stdout).toMatch(/viettel +bts +silent/);
    for (const r of [dlq!, replay!, report!]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        new RegExp(
          `(^|\n)pulse: cannot reach the database at postgres://postgres@127.0.0.1:${deadPort}/pulse: .*check DATABASE_URL and that Postgres is running`,
        ),
      );
    }
    expect(embedded!.code).toBe(1);
    expect(embedded!.stderr).toMatch(
      /DATABASE_URL is not set and no pnpm start is running \(no \/nonexistent\/pulse-data\/pulse.json\): start Pulse \(pnpm start\), or set DATABASE_URL/,
    );
    expect(replay!.stderr).toMatch(/^writing into Postgres 127.0.0.1:\d+\/pulse \(DATABASE_URL\)\n/);
    // Offline check needs neither.
    const check = await runPulse(["check", "-", "--feed", "esign", "--source", "edoc"], noDb, "{}\n");
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/line 1: refused bad_shape/);
    const missing = await runPulse(["check", "/nonexistent/records.jsonl"], {});
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/cannot read \/nonexistent\/records.jsonl: ENOENT/)]);
  });
});
