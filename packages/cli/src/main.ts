/**
 * `pnpm pulse <command>` (or the `pulse` bin): the operator and carrier-engineer CLI. See
 * docs/operations.md for every command with an example.
 */
import { processIo } from "./io";
import { runCli } from "./program";

process.exitCode = await runCli(process.argv.slice(2), processIo());
