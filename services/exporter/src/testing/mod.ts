/** Test support for the exporter and the cross-service tests in test/ (not used by the service). */
export * from "./fixture";
export * from "./infra-copies";
export * from "./parse-metrics";
export * from "./prom-launcher";
