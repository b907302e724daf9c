import { liveGatewayMetrics } from "@pulse/contracts";
import { createRegistry, makeMetrics, type Registry } from "@pulse/metrics";

/** The gateway's own metrics (names in contracts' catalogue), on a registry of its own. */
export function createLiveMetrics(): { registry: Registry; metrics: ReturnType<typeof makeMetrics<typeof liveGatewayMetrics>> } {
  const registry = createRegistry("live");
  return { registry, metrics: makeMetrics(registry, liveGatewayMetrics) };
}

export type LiveMetricsSet = ReturnType<typeof createLiveMetrics>["metrics"];
