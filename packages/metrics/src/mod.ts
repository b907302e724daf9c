export * from "./metrics-registry";
export * from "./http-server";
