export * from "./config";
export * from "./live";
export * from "./protocol";
export { wallConfig } from "./http-routes";
export type { BehindReason } from "./gateway";
