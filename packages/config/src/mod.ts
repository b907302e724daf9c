export * from "./env-reader";
export * from "./logger";
export * from "./on-shutdown";
export * from "./nats-auth";
export * from "./pid-lock";
export * from "./run-record";
export * from "./bearer-tokens";
export * from "./watchdog";
