export { runCli } from "./program";
export { loadConfig, type CliConfig } from "./config";
export type { CliIo } from "./io";
export { parseLines, type InputRecord } from "./input-lines";
export { judgeLines, type LineVerdict } from "./judge-lines";
