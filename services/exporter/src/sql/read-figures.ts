// Moved to @pulse/db, so that the CLI's `pulse status` reads the same rows the same way.
export { readFigures, type FigureRows } from "@pulse/db";
