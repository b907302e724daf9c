export { loadConfig, type FeedsHttpConfig } from "./config";
export { startFeedsHttp, type FeedsHttp, type LineResult } from "./feeds-http";
