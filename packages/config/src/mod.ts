export * from "./env-reader";
