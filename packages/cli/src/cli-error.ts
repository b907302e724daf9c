/** Exit codes: 0 done, 1 refused or failed, 2 bad usage (arguments or configuration). */
export const exitCodes = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure the CLI reports in one clear message (no stack), with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = exitCodes.failed,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CliError";
  }
}

/** Bad arguments: exit code 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, exitCodes.usage);
    this.name = "UsageError";
  }
}
