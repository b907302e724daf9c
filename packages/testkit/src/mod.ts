export * from "./nats-server";
export * from "./test-database";
export * from "./tcp-proxy";
export * from "./unique-tag";
export * from "./free-port";
export * from "./calendar-clock";
