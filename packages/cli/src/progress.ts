import cliProgress from "cli-progress";
import type { CliIo } from "./io";

export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

/**
 * A progress bar on standard error while standard output is a terminal (never under `--json` or
 * in a pipe, where it would be noise in the output).
 */
export function progress(io: CliIo, total: number, label: string, enabled: boolean): Progress {
  if (!enabled || !io.stdout.isTTY || total <= 1) return { tick() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {value}/{total} {percentage}% eta {eta}s`, stream: io.stderr as NodeJS.WritableStream, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    tick: (n = 1) => bar.increment(n),
    stop: () => bar.stop(),
  };
}
