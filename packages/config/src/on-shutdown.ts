import type { Logger } from "./logger";

/**
 * Owns a service's shutdown: the first SIGINT/SIGTERM runs `close` and exits 0 (1 if it fails or
 * takes longer than `timeoutMs`, default 10 s); a second signal forces exit. A signal repeated
 * within a second is the same one (Ctrl-C reaches us from the terminal and again through
 * pnpm/tsx), not a second request.
 */
export function onShutdown(close: () => Promise<void>, options: { log: Logger; timeoutMs?: number }): void {
  const { log, timeoutMs = 10_000 } = options;
  let at = 0;
  const stop = (signal: string) => {
    if (at) {
      if (Date.now() - at < 1_000) return;
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    at = Date.now();
    log.info(`${signal}: draining`);
    setTimeout(() => {
      log.error(`shutdown took longer than ${timeoutMs / 1000} s: exiting`);
      process.exit(1);
    }, timeoutMs).unref();
    close().then(
      () => process.exit(0),
      (err) => {
        log.error("shutdown failed", { error: String((err as Error)?.message ?? err) });
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
