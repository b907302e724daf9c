export * from "./subjects";
export * from "./feeds";
export * from "./envelope";
export * from "./reasons";
export * from "./decode";
export * from "./live";
export * from "./metrics";
