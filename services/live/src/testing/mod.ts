export * from "./live-client";
