export * from "./database";
export * from "./create-db";
export * from "./migrate";
