import { connect, createServer, type Socket } from "node:net";

export interface TcpProxyTarget {
  host: string;
  port: number;
}

/** A TCP relay a fault test can cut: the way to take the database away without stopping it. */
export interface TcpProxy {
  /** Always 127.0.0.1. */
  readonly host: string;
  readonly port: number;
  /** Live client connections. */
  readonly connections: number;
  /** True between `cut()` and `restore()`. */
  readonly isCut: boolean;
  /** Resets every live connection and refuses new ones (they are reset on accept). */
  cut(): void;
  /** Accepts and relays new connections again. */
  restore(): void;
  /** Resets every connection and stops listening. Idempotent. */
  close(): Promise<void>;
}

/** Listens on a free 127.0.0.1 port and relays every connection to `target`. */
export async function startTcpProxy(target: TcpProxyTarget): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let isCut = false;
  let closed = false;

  const server = createServer((client) => {
    if (isCut) {
      // A reset rather than a clean FIN: the client sees ECONNRESET, as on a dead link.
      client.resetAndDestroy();
      return;
    }
    const upstream = connect({ host: target.host, port: target.port });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    // Either side ending or failing ends both: a half-open relay would hang the client.
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });

  function resetAll(): void {
    for (const pair of pairs) {
      pairs.delete(pair);
      pair[0].resetAndDestroy();
      pair[1].destroy();
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("tcp proxy: no port assigned");

  return {
    host: "127.0.0.1",
    port: address.port,
    get connections() {
      return pairs.size;
    },
    get isCut() {
      return isCut;
    },
    cut() {
      isCut = true;
      resetAll();
    },
    restore() {
      isCut = false;
    },
    async close() {
      if (closed) return;
      closed = true;
      isCut = true;
      resetAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `pgUrl` with its host and port replaced by the proxy's. */
export function proxiedUrl(pgUrl: string, proxy: Pick<TcpProxy, "host" | "port">): string {
  const u = new URL(pgUrl);
  u.hostname = proxy.host;
  u.port = String(proxy.port);
  return u.toString();
}

/** Host and port of a postgres:// or nats:// URL, to use as a proxy target. */
export function urlTarget(url: string, defaultPort = 5432): TcpProxyTarget {
  const u = new URL(url);
  return { host: u.hostname || "127.0.0.1", port: u.port ? Number(u.port) : defaultPort };
}
