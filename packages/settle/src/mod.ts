export * from "./send-and-settle";
export * from "./feed-settler";
export * from "./publish-failure";
export * from "./record-key";
