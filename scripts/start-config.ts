import { ConfigError, envReader, type Env } from "@pulse/config";

export interface StartConfig {
  /** PULSE_SIMULATE: "1" forces the simulator on, "0" off; unset: on only when Pulse runs on its own embedded Postgres and its own nats-server. */
  simulate: boolean | null;
  /** NATS_URL: a real NATS system to use. Unset (the default): Pulse runs its own nats-server, never an ambient one. */
  natsUrl: string | undefined;
  /** PULSE_NATS_PORT: the port of Pulse's own nats-server when it is free; when taken, a free one (the log says which). Default 4222. */
  natsPort: number;
  /** DATABASE_URL: a real Postgres. Unset (the default): the embedded one under `<dataDir>/pg`. */
  databaseUrl: string | undefined;
  /** PULSE_DATA_DIR: the embedded Postgres, the local nats-server's store, the lock and pulse.json. Default .data */
  dataDir: string;
  /** EMBEDDED_PG_PORT: port of the embedded Postgres when it is free; when taken, a free one. Default 54329. */
  embeddedPgPort: number;
  /** NATS_SERVER_BIN: the nats-server to run when NATS_URL is unset. Default: looked up in /usr/sbin, /usr/bin, /usr/local/bin, PATH. */
  natsServerBin: string | undefined;
  /** PULSE_PUBLIC_HOST: host shown in the URLs printed at the end. Default 127.0.0.1. */
  publicHost: string;
}

/** What `pnpm start` reads for itself (each service reads its own variables in its loadConfig). */
export function loadStartConfig(env: Env): Readonly<StartConfig> {
  const r = envReader(env);
  const sim = r.optional("PULSE_SIMULATE");
  if (sim !== undefined && sim !== "0" && sim !== "1")
    throw new ConfigError("PULSE_SIMULATE", `expected 1 or 0, got ${JSON.stringify(sim)}`);
  return Object.freeze({
    simulate: sim === undefined ? null : sim === "1",
    natsUrl: r.optional("NATS_URL"),
    natsPort: r.int("PULSE_NATS_PORT", 4222, { min: 1, max: 65535 }),
    databaseUrl: r.url("DATABASE_URL", undefined, ["postgres:", "postgresql:"]),
    dataDir: r.string("PULSE_DATA_DIR", ".data"),
    embeddedPgPort: r.int("EMBEDDED_PG_PORT", 54329, { min: 0, max: 65535 }),
    natsServerBin: r.optional("NATS_SERVER_BIN"),
    publicHost: r.string("PULSE_PUBLIC_HOST", "127.0.0.1"),
  });
}

/** Whether the simulator runs, and why, in words for the start log. */
export function simulatorDecision(setting: boolean | null, embeddedPg: boolean, ownNats: boolean): { on: boolean; why: string } {
  if (setting === true) return { on: true, why: "PULSE_SIMULATE=1" };
  if (setting === false) return { on: false, why: "PULSE_SIMULATE=0" };
  if (embeddedPg && ownNats)
    return { on: true, why: "Pulse runs on its own embedded Postgres and its own nats-server (PULSE_SIMULATE=0 turns it off)" };
  const real = [!embeddedPg && "DATABASE_URL is set", !ownNats && "NATS_URL is set"].filter(Boolean).join(" and ");
  return { on: false, why: `${real}: a demo never writes invented figures into a real system (PULSE_SIMULATE=1 turns it on)` };
}
