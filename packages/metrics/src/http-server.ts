import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "./metrics-registry";

export interface Health {
  ok: boolean;
  [detail: string]: unknown;
}

export interface MetricsServerOptions {
  port: number;
  /** Default 0.0.0.0. */
  host?: string;
  registry: Registry;
  /** What `/healthz` reports; 200 when ok, 503 otherwise. */
  health: () => Health | Promise<Health>;
  /** Extra routes (path → handler returning [status, content type, body]). */
  routes?: Record<string, () => Promise<[number, string, string]>>;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves `/metrics` (Prometheus text format) and `/healthz` (JSON). */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (path === "/metrics") {
        const body = await options.registry.metrics();
        res.writeHead(200, { "content-type": options.registry.contentType });
        res.end(body);
      } else if (path === "/healthz") {
        const h = await options.health();
        res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify(h));
      } else if (path && options.routes?.[path]) {
        const [status, type, body] = await options.routes[path]!();
        res.writeHead(status, { "content-type": type });
        res.end(body);
      } else {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found: try /metrics or /healthz\n");
      }
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`error: ${(err as Error).message}\n`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
