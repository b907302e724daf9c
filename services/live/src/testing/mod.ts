export * from "./live-client";
export * from "./postgres-values";
