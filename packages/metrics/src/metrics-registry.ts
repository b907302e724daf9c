import client from "prom-client";
import type { MetricDef } from "@pulse/contracts";

export type Counter = client.Counter<string>;
export type Gauge = client.Gauge<string>;
export type Histogram = client.Histogram<string>;
export type Registry = client.Registry;

/** A registry of one service: its own metrics plus Node's process defaults (prefixed `pulse_<service>_`). */
export function createRegistry(service: string): Registry {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: `pulse_${service}_` });
  return registry;
}

type Made<D extends MetricDef> = D["type"] extends "counter" ? Counter : D["type"] extends "gauge" ? Gauge : Histogram;

/** Creates the metric a catalogue entry describes, on `registry`. */
export function makeMetric<D extends MetricDef>(registry: Registry, d: D, collect?: () => void | Promise<void>): Made<D> {
  const base = { name: d.name, help: d.help, labelNames: [...d.labels], registers: [registry] };
  switch (d.type) {
    case "counter":
      return new client.Counter(base) as Made<D>;
    case "gauge":
      return new client.Gauge({ ...base, ...(collect ? { collect } : {}) }) as Made<D>;
    case "histogram":
      return new client.Histogram({ ...base, buckets: d.buckets ? [...d.buckets] : client.linearBuckets(0, 1, 1) }) as Made<D>;
  }
  throw new Error(`unknown metric type of ${d.name}`);
}

/** Creates every metric of a catalogue section, keyed as the section is. */
export function makeMetrics<S extends Record<string, MetricDef>>(registry: Registry, section: S): { [K in keyof S]: Made<S[K]> } {
  return Object.fromEntries(Object.entries(section).map(([k, d]) => [k, makeMetric(registry, d)])) as { [K in keyof S]: Made<S[K]> };
}
