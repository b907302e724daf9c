export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

export type LogLevel = "silent" | "error" | "warn" | "info";
const rank: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3 };

/** A scoped logger writing one line per entry to stderr: `time level [scope] message {fields}`. */
export function createLogger(scope: string, level: LogLevel = "info"): Logger {
  const write = (l: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => {
    if (rank[l] > rank[level]) return;
    const extra = fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : "";
    process.stderr.write(`${new Date().toISOString()} ${l.padEnd(5)} [${scope}] ${msg}${extra}\n`);
  };
  return {
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (s) => createLogger(`${scope}:${s}`, level),
  };
}
