import { connect, type NatsConnection } from "@nats-io/transport-node";

export type { NatsConnection } from "@nats-io/transport-node";

/** Thrown when no NATS server answers at start; says what to do. */
export class NatsUnreachableError extends Error {
  readonly code = "PULSE_NATS_UNREACHABLE";
  constructor(url: string, cause: unknown) {
    super(
      `no NATS server at ${url} (${(cause as Error)?.message ?? cause}). Start one with JetStream ` +
        `(nats-server -js), or install it: apt-get install nats-server`,
      { cause },
    );
    this.name = "NatsUnreachableError";
  }
}

/**
 * Connects to NATS. Once connected, the client reconnects forever: a broker restart is an
 * outage to ride out, not a reason to exit.
 */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect({
      servers: url.split(","),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      pingInterval: 10_000,
    });
  } catch (err) {
    throw new NatsUnreachableError(url, err);
  }
}
