export { startIngest, type Ingest, type IngestDeps } from "./ingest";
export { loadConfig, type IngestConfig } from "./config";
