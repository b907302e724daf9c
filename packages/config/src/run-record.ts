import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive } from "./pid-lock";

/** What a running `pnpm start` leaves in `<PULSE_DATA_DIR>/pulse.json` (mode 0600: it holds a password), for the tools. */
export interface RunRecord {
  /** The start's pid: the record is in force while it lives. */
  pid: number;
  startedAt: string;
  /** Postgres URL with its password (the embedded one, or DATABASE_URL's). */
  databaseUrl: string;
  /** The NATS URL the start uses (its own nats-server, or NATS_URL's). */
  natsUrl: string;
  /** True when `natsUrl` is the start's own nats-server. */
  ownNats: boolean;
  /** The live gateway's admin base URL (`/metrics`, clients), e.g. http://127.0.0.1:9466. */
  liveAdminUrl: string;
  /** PULSE_NAMESPACE of the start, if any. */
  namespace?: string;
}

export const runRecordPath = (dataDir: string) => join(dataDir, "pulse.json");

/** Writes the record atomically, readable by its owner only. */
export function writeRunRecord(dataDir: string, record: RunRecord): void {
  const path = runRecordPath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

/** Removes the record if it is this process's. */
export function removeRunRecord(dataDir: string): void {
  const r = readRunRecord(dataDir);
  if (r.record?.pid !== process.pid) return;
  try {
    unlinkSync(runRecordPath(dataDir));
  } catch {
    /* gone */
  }
}

/** The record and whether its start is alive (`live: false` with a record: stale, left by a start that died). */
export function readRunRecord(dataDir: string): { record: RunRecord | null; live: boolean; path: string } {
  const path = runRecordPath(dataDir);
  try {
    const record = JSON.parse(readFileSync(path, "utf8")) as RunRecord;
    if (typeof record.pid !== "number" || typeof record.databaseUrl !== "string" || typeof record.natsUrl !== "string") {
      return { record: null, live: false, path };
    }
    return { record, live: isAlive(record.pid), path };
  } catch {
    return { record: null, live: false, path };
  }
}
