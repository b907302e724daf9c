export * from "./config";
export * from "./exporter";
export * from "./figures";
export * from "./label-sets";
export * from "./pipeline-watch";
export { readFigures, type FigureRows } from "./sql/read-figures";
