// Types of commune-table.js for the TypeScript tests.
import type { LiveStore } from "./store.js";
import type { WallConfig } from "./aggregate.js";
export interface CommuneRow {
  code: string;
  name: string;
  formerCode: string;
  formerVi: string;
  formerEn: string;
  mobile: number | null;
  bts: number | null;
  btsDown: number | null;
  received: number | null;
  ontime: number | null;
  esign: number | null;
  reported: string[];
}
export declare const pageSize: number;
export declare const columns: readonly ["name", "mobile", "bts", "btsDown", "received", "ontime", "esign", "reported"];
export declare function communeRows(store: LiveStore, config: WallConfig, at: { nowMs: number | null }): CommuneRow[];
export declare function sortRows(rows: CommuneRow[], column: string, dir: "asc" | "desc"): CommuneRow[];
export declare function pageOf<T>(rows: T[], page: number, size?: number): { rows: T[]; page: number; pages: number };
