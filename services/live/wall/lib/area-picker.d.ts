// Types of area-picker.js for the TypeScript tests.
import type { WallConfig } from "./aggregate.js";
export interface AreaOption {
  code: string;
  scope: string;
  name_vi: string;
  name_en: string;
  group: string;
  fold: string;
}
export declare function foldText(s: string): string;
export declare function areaOptions(config: WallConfig, day: string): AreaOption[];
export declare function searchAreas(options: AreaOption[], query: string, limit?: number): AreaOption[];
