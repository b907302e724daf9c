export { loadConfig, type FeedsHttpConfig } from "./config";
export { startFeedsHttp, type FeedsHttp } from "./feeds-http";
export type { LineResult } from "./line-results";
