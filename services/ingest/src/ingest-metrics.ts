import { ingestMetrics } from "@pulse/contracts";
import { createRegistry, makeMetrics, type Registry } from "@pulse/metrics";

export type IngestMetrics = ReturnType<typeof makeMetrics<typeof ingestMetrics>> & { registry: Registry };

/** The ingest service's registry: its catalogue section plus process defaults. */
export function createIngestMetrics(): IngestMetrics {
  const registry = createRegistry("ingest");
  return { ...makeMetrics(registry, ingestMetrics), registry };
}
