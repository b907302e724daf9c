import { parseArgs } from "node:util";
import { ConfigError } from "@pulse/config";
import type { SimulatorConfig } from "./config";
import { noFaults, type Faults, type SilentSpec } from "./faults";

export const usage = `pnpm simulate [options]   (each option also works alone)
  --rate <x>          volume multiplier of every source (default 1 = a realistic day; 0.1 … 100000)
  --duration <s>      seconds of live publishing after the backfill (default: until Ctrl-C)
  --seed <n>          same seed, same events (default 40)
  --in-flight <n>     publishes awaiting acknowledgement at once (default 256)
  --no-backfill       do not backfill today so far on a fresh stream
  --duplicates <p>    share of records sent twice (alternately same Msg-Id / none)
  --reorder <p>       share of records swapped with the next one
  --late <p>          share of e-documents and dossier steps held back 5–60 s
  --restate <p>       share of records restated (revision 1) a moment later
  --malformed <p>     share of records followed by a malformed message (bad_json, bad_shape, bad_time, future_time, unknown_area, source_mismatch)
  --silent <source[:seconds]>  a source falls silent (repeatable; default for the whole run)
  --flood <n>         n extra e-documents at once when the live phase starts
Environment: NATS_URL, PULSE_NAMESPACE, SIMULATOR_RATE, SIMULATOR_SEED, SIMULATOR_DURATION_S, SIMULATOR_IN_FLIGHT, SIMULATOR_BACKFILL, LOG_LEVEL.`;

const share = (name: string, v: string | undefined): number => {
  if (v === undefined) return 0;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new ConfigError(`--${name}`, `expected a share 0–1, got ${JSON.stringify(v)}`);
  return n;
};
const num = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) throw new ConfigError(`--${name}`, `expected a number ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
};

/** Command-line flags as overrides of the environment's configuration. */
export function parseCli(argv: string[]): { overrides: Partial<SimulatorConfig>; help: boolean } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      rate: { type: "string" },
      duration: { type: "string" },
      seed: { type: "string" },
      "in-flight": { type: "string" },
      "no-backfill": { type: "boolean" },
      duplicates: { type: "string" },
      reorder: { type: "string" },
      late: { type: "string" },
      restate: { type: "string" },
      malformed: { type: "string" },
      silent: { type: "string", multiple: true },
      flood: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const o: Partial<SimulatorConfig> = {};
  if (values.rate !== undefined) o.rate = num("rate", values.rate, Number.MIN_VALUE);
  if (values.duration !== undefined) o.durationS = num("duration", values.duration, 0);
  if (values.seed !== undefined) o.seed = Math.floor(num("seed", values.seed, 0)) >>> 0;
  if (values["in-flight"] !== undefined) o.inFlight = Math.max(1, Math.floor(num("in-flight", values["in-flight"], 1)));
  if (values["no-backfill"]) o.backfill = false;
  const silent: SilentSpec[] = (values.silent ?? []).map((s) => {
    const [source, secs] = s.split(":");
    return { source: source!, forMs: secs ? num("silent", secs, 0) * 1000 : null };
  });
  const faults: Faults = {
    ...noFaults,
    duplicates: share("duplicates", values.duplicates),
    reorder: share("reorder", values.reorder),
    late: share("late", values.late),
    restate: share("restate", values.restate),
    malformed: share("malformed", values.malformed),
    silent,
    flood: values.flood ? Math.floor(num("flood", values.flood, 0)) : 0,
  };
  o.faults = faults;
  return { overrides: o, help: Boolean(values.help) };
}
