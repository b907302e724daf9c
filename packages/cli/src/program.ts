import { Command, CommanderError, Option } from "commander";
import { ConfigError } from "@pulse/config";
import { CliError, exitCodes } from "./cli-error";
import { loadConfig, type CliConfig } from "./config";
import type { CliIo } from "./io";
import type * as Areas from "./commands/areas";
import type * as Check from "./commands/check";
import type * as Dlq from "./commands/dlq";
import type * as Publish from "./commands/publish";
import type * as Replay from "./commands/replay";
import type * as Report from "./commands/report";
import type * as Status from "./commands/status";
import type * as Token from "./commands/token";

// Each command's module is loaded when it runs: `--help` and bad usage answer without loading
// pg, NATS or exceljs.
const check = async (...a: Parameters<typeof Check.check>) => (await import("./commands/check")).check(...a);
const publish = async (...a: Parameters<typeof Publish.publish>) => (await import("./commands/publish")).publish(...a);
const status = async (...a: Parameters<typeof Status.status>) => (await import("./commands/status")).status(...a);
const replay = async (...a: Parameters<typeof Replay.replay>) => (await import("./commands/replay")).replay(...a);
const report = async (...a: Parameters<typeof Report.report>) => (await import("./commands/report")).report(...a);
const areasRetired = async (...a: Parameters<typeof Areas.areasRetired>) => (await import("./commands/areas")).areasRetired(...a);
const dlqList = async (...a: Parameters<typeof Dlq.dlqList>) => (await import("./commands/dlq")).dlqList(...a);
const dlqShow = async (...a: Parameters<typeof Dlq.dlqShow>) => (await import("./commands/dlq")).dlqShow(...a);
const dlqRetry = async (...a: Parameters<typeof Dlq.dlqRetry>) => (await import("./commands/dlq")).dlqRetry(...a);
const tokenNew = async (...a: Parameters<typeof Token.tokenNew>) => (await import("./commands/token")).tokenNew(...a);
const dlqPurge = async (...a: Parameters<typeof Dlq.dlqPurge>) => (await import("./commands/dlq")).dlqPurge(...a);

/**
 * Runs one `pulse` command line and returns its exit code: 0 done, 1 refused or failed, 2 bad
 * usage. Never exits the process itself (tests run it in-process too).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let config: CliConfig | null = null;
  const cfg = () => (config ??= loadConfig(io.env));
  let code: number = exitCodes.ok;
  const program = new Command("pulse")
    .description("Operator and carrier-engineer tools for Pulse: pipeline status, dead letters, feed checks, replays, monthly reports.")
    .showHelpAfterError("(pulse <command> --help for its options)")
    .configureOutput({ writeOut: (s) => void io.stdout.write(s), writeErr: (s) => void io.stderr.write(s) })
    .exitOverride();
  const json = () => new Option("--json", "print one JSON document (for scripts)");
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<number>) =>
    async (...args: A) => {
      code = await fn(...args);
    };

  program
    .command("status")
    .description("each feed's freshness and last receipt, consumer backlog, dead letters held, the gateway's clients")
    .addOption(json())
    .action(run((o: { json?: boolean }) => status(io, cfg(), o)));

  program
    .command("check")
    .description("check a file of records offline (no NATS, no database) with ingest's own decoder; exit 1 if any is refused")
    .argument("<file>", "JSON lines, one record per line; - reads standard input")
    .option("--feed <feed>", "every line is a payload of this feed (with --source); else each line names its subject")
    .option("--source <source>", "every line is a payload from this producer (with --feed)")
    .option("--received-at <time>", "judge future_time against this receipt time instead of now")
    .addOption(json())
    .action(run((file: string, o) => check(io, cfg(), file, o)));

  program
    .command("publish")
    .description("send a file of records for real and report each: accepted, duplicate, refused (with its reason) or unsettled")
    .argument("<file>", "JSON lines as for check; - reads standard input")
    .option("--feed <feed>", "every line is a payload of this feed (with --source)")
    .option("--source <source>", "every line is a payload from this producer (with --feed)")
    .option("--timeout <seconds>", "how long to wait for ingest to settle every line", "30")
    .option("--in-flight <n>", "publishes awaiting JetStream's answer at once", "256")
    .option("--no-database", "do not read the database (then accepted and ingest's duplicates are not told apart)")
    .addOption(json())
    .action(run((file: string, o) => publish(io, cfg(), file, o)));

  const dlq = program.command("dlq").description("dead letters: list, show, retry, purge");
  dlq
    .command("list")
    .description("dead letters, newest first")
    .option("--source <source>", "only from this producer")
    .option("--reason <reason>", "only with this reason code")
    .option("--since <time>", "stored at or after this time (2026-11-26, an ISO time, or 2h / 3d ago)")
    .option("--held", "only those not yet retried")
    .option("--limit <n>", "at most this many", "100")
    .addOption(json())
    .action(run((o) => dlqList(io, cfg(), o)));
  dlq
    .command("show")
    .description("one dead letter: payload, reason, detail, subject, when, retries and their outcome")
    .argument("<id>", "the dead letter's id")
    .addOption(json())
    .action(run((id: string, o) => dlqShow(io, cfg(), id, o)));
  dlq
    .command("retry")
    .description("send dead letters again to their subject (Msg-Id retry:<id>) and report how ingest settled each")
    .argument("[ids...]", "dead-letter ids")
    .option("--reason <reason>", "every held dead letter with this reason")
    .option("--source <source>", "every held dead letter from this producer")
    .option("--timeout <seconds>", "how long to wait for ingest", "30")
    .addOption(json())
    .action(run((ids: string[], o) => dlqRetry(io, cfg(), ids, o)));
  dlq
    .command("purge")
    .description("delete dead letters stored before a time")
    .requiredOption("--before <time>", "stored before this time (2026-11-26, an ISO time, or 30d ago)")
    .option("--retried-only", "only those already retried")
    .addOption(json())
    .action(run((o) => dlqPurge(io, cfg(), o)));

  program
    .command("replay")
    .description(
      "rebuild the buckets and gauges of whole UTC+7 days from the raw events, beside a running ingest. " +
        "It rebuilds from what the events say, without judging their areas again (ingest judged each on its own day); " +
        "rows in an area out of force on their day, from before the map of 2025, are found by `pulse areas retired`",
    )
    .requiredOption("--from <day>", "first day, YYYY-MM-DD (UTC+7)")
    .requiredOption("--to <day>", "last day, YYYY-MM-DD (UTC+7), included")
    .option("--feed <feed>", "only this feed (subscribers, bts, esign, egov); default all four")
    .option("--dry-run", "say what would change, change nothing")
    .addOption(json())
    .action(run((o) => replay(io, cfg(), o)));

  const areas = program.command("areas").description("the map through time: areas as seeds date them");
  areas
    .command("retired")
    .description(
      "find the rows held in an area not in force on their own UTC+7 day (districts' codes dated after 2025-07-01, " +
        "from the simulator of before the map of 2025), count them per table and move them to retired_rows",
    )
    .option("--dry-run", "count them, change nothing")
    .addOption(json())
    .action(run((o) => areasRetired(io, cfg(), o)));

  program
    .command("report")
    .description(
      "the month's figures per carrier and area (by district before July 2025, by commune with former-district subtotals after), with the department's Vietnamese labels",
    )
    .requiredOption("--month <month>", "YYYY-MM")
    .addOption(new Option("--format <format>", "output format").choices(["table", "csv", "xlsx"]).default("table"))
    .option("--output <file>", "write to this file (needed for xlsx unless standard output is not a terminal)")
    .addOption(json())
    .action(run((o) => report(io, cfg(), o)));

  // The HTTPS door's bearer tokens (services/feeds-http).
  program
    .command("token")
    .description("bearer tokens of the HTTPS door (feeds-http)")
    .command("new")
    .description("a new token for one source: printed once, with the line to add to FEEDS_HTTP_TOKENS_FILE")
    .requiredOption("--source <source>", "the seeded source the token speaks for")
    .addOption(json())
    .action(run((o: { source: string; json?: boolean }) => tokenNew(io, o)));

  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed its message (help, or an unknown option, a missing argument, no
      // command at all): 0 for help asked for, else bad usage.
      return err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    if (err instanceof ConfigError) {
      io.stderr.write(`pulse: bad configuration: ${err.message}\n`);
      return exitCodes.usage;
    }
    if (err instanceof CliError) {
      io.stderr.write(`pulse: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`pulse: unexpected error: ${(err as Error)?.stack ?? err}\n`);
    return exitCodes.failed;
  }
}
