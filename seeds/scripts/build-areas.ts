/**
 * Writes `seeds/data/areas.json` from the statistics office's lists in `seeds/data/areas-2025/`
 * (copied from the shared seed, with their sources in its README) and the 21 districts already in
 * seeds. Run once when the lists change: `tsx seeds/scripts/build-areas.ts`. The JSON is the data
 * Pulse reads; this script only records how it was made.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dataDir = join(dirname(fileURLToPath(import.meta.url)), "../data");
const current = JSON.parse(readFileSync(join(dataDir, "areas.json"), "utf8")) as {
  areas: { code: string; level: string; name_vi: string; name_en: string; valid_from?: string | null }[];
};

const csv = (file: string) => {
  const [head, ...rows] = readFileSync(join(dataDir, "areas-2025", file), "utf8")
    .trim()
    .split("\n");
  const cols = head!.split(",");
  return rows.map((r) => Object.fromEntries(r.split(",").map((v, i) => [cols[i]!, v])) as Record<string, string>);
};

const districtsBefore = current.areas.filter((a) => a.level === "district");
const communes = csv("communes.csv");
const lastDistrictDay = "2025-06-30";
const firstCommuneDay = "2025-07-01";

const areas = [
  { code: "40", level: "province", parent: null, name_vi: "Tỉnh Nghệ An", name_en: "Nghe An Province", valid_from: null, valid_to: null },
  ...districtsBefore.map((d) => ({
    code: d.code,
    level: "district",
    parent: "40",
    name_vi: d.name_vi,
    name_en: d.name_en,
    valid_from: null,
    valid_to: d.code === "413" ? "2024-12-31" : lastDistrictDay,
  })),
  ...communes.map((c) => ({
    code: c.code,
    level: "commune",
    parent: "40",
    name_vi: c.name,
    name_en: c.name,
    type: c.type,
    former_district: c.old_district_codes,
    valid_from: firstCommuneDay,
    valid_to: null,
  })),
];

const successions = [
  { code: "413", from: "2025-01-01", into: ["412"], by: "merged into Vinh (Standing Committee resolution of late 2024)" },
  ...districtsBefore
    .filter((d) => d.code !== "413")
    .map((d) => ({
      code: d.code,
      from: firstCommuneDay,
      into: communes.filter((c) => c.old_district_codes === d.code).map((c) => c.code),
      by: "Resolution 1678/NQ-UBTVQH15: districts abolished, communes merged",
    })),
];

const out = {
  note: "Areas as dated data: an area is (code, valid_from); valid_from null means in force since before Pulse's records begin, valid_to null means in force now. Days are UTC+7 calendar days, both ends included. Districts 412-432 until 2025-06-30 (413 until 2024-12-31); the 130 communes and wards from 2025-07-01 (Resolution 1678/NQ-UBTVQH15, codes from 1027/CTK-CSCL; see areas-2025/README.md). former_district: the district in force on 2025-06-30 that held the commune. successions: from that day on, what a retired code's ground belongs to. Built by seeds/scripts/build-areas.ts.",
  province: "40",
  households: 840932,
  levels: {
    note: "A level of government ends with its last unit. egov steps other than 'received' may still name a retired level until grace_to: dossiers received before the cut-over are resolved after it (a stated grace period; see docs/feed-contract.md).",
    district: { valid_to: lastDistrictDay, grace_to: "2025-09-30" },
  },
  areas,
  successions,
};
writeFileSync(join(dataDir, "areas.json"), JSON.stringify(out, null, 2) + "\n");
console.log(`${areas.length} areas, ${successions.length} successions`);
