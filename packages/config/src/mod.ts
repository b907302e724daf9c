export * from "./env-reader";
export * from "./logger";
