/**
 * `pnpm bench:area-check` — what judging `area` (and the agency and level) on the record's own
 * UTC+7 day costs per decoded record, against the decoder of before (a Set lookup of district
 * codes), in the same run.
 *
 * The old decoder is the repository's own: `packages/contracts/src/decode.ts` as it was in the
 * parent of the commit that brought `judgeArea`, read from git and loaded beside today's for the
 * run (a file next to decode.ts, so its relative imports resolve; removed at the end). It read
 * `districts` from seeds, which no longer exports it: the districts are handed to it from
 * today's dated areas.
 *
 * Each decoder gets records it accepts (ingest's common case): the old one districts' codes, the
 * new one communes' codes dated today, the same records otherwise: 40 % subscribers, 40 % BTS,
 * 10 % e-documents, 10 % dossier steps, times spread over the day. Rounds alternate old and new so
 * the machine's drift falls on both; the medians of the rounds are printed, and the area check
 * alone (the old `Set.has` against today's `judge` of area, agency and level) beside them.
 */
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decode, type DecodeResult } from "@pulse/contracts";
import { agencyMap, areaMap, localDayNumber } from "@pulse/seeds";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const records = Number(process.env.BENCH_RECORDS ?? 20_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const chunk = Number(process.env.BENCH_CHUNK ?? 200);

type Decode = typeof decode;

/** Today's decode's predecessor, from git. */
async function oldDecoder(): Promise<Decode> {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
  const intro = git("log", "--format=%H", "--reverse", "-S", "function judgeArea", "--", "packages/contracts/src/decode.ts").split("\n")[0];
  if (!intro) throw new Error("cannot find the commit that brought judgeArea to decode.ts");
  const source = git("show", `${intro}^:packages/contracts/src/decode.ts`);
  const seedsImport = /import \{ districts, provinceCode, sources \} from "@pulse\/seeds";/;
  if (!seedsImport.test(source)) throw new Error("the old decode.ts does not import districts as expected");
  const shimmed = source.replace(
    seedsImport,
    `import { areas, provinceCode, sources } from "@pulse/seeds";\n` +
      `const districts = [...new Map(areas.filter((a) => a.level === "district").map((a) => [a.code, a])).values()];`,
  );
  const file = join(root, "packages/contracts/src", `decode-before-dated-areas.bench-${process.pid}.ts`);
  writeFileSync(file, `// Written by bench/area-check.bench.ts for one run; removed after it.\n${shimmed}`);
  try {
    const mod = (await import(file)) as { decode: Decode };
    return mod.decode;
  } finally {
    rmSync(file, { force: true });
  }
}

/** The same records for both decoders, but for the area each accepts. */
function makeRecords(areaFor: (i: number, feed: string) => string, dayStartMs: number) {
  const enc = new TextEncoder();
  const out: { subject: string; payload: Uint8Array; receivedMs: number }[] = [];
  let x = 7;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = 0; i < records; i++) {
    const r = rnd();
    const feed = r < 0.4 ? "subscribers" : r < 0.8 ? "bts" : r < 0.9 ? "esign" : "egov";
    const source = feed === "esign" ? "edoc" : feed === "egov" ? "dvc" : ["viettel", "vinaphone", "mobifone"][i % 3]!;
    const tsMs = dayStartMs + Math.floor(rnd() * 86_000_000);
    const ts = `${new Date(tsMs + 7 * 3_600_000).toISOString().slice(0, 23)}+07:00`;
    const data =
      feed === "subscribers"
        ? { service: "mobile", count: Math.floor(rnd() * 100_000) }
        : feed === "bts"
          ? { station: `NA-${i % 8000}`, tech: "4G", status: rnd() < 0.95 ? "up" : "down" }
          : feed === "esign"
            ? { agency: "so-khcn", doc: `doc-${i}`, signed: true, signer: "organization" }
            : { procedure: "1.004227", agency: "ubnd-xa", level: "commune", channel: "online_full", status: "received" };
    const payload = enc.encode(JSON.stringify({ v: 1, id: `r-${i}`, source, ts, area: areaFor(i, feed), data }));
    out.push({ subject: `feeds.${feed}.${source}`, payload, receivedMs: tsMs + 1_000 });
  }
  return out;
}

function time(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const f = (n: number) => n.toFixed(0).padStart(6);

async function main() {
  const old = await oldDecoder();
  const now = Date.now();
  const today = localDayNumber(now);
  const dayStart = Date.UTC(1970, 0, 1) + today * 86_400_000 - 7 * 3_600_000;
  const communes = areaMap.leavesOn(today).map((a) => a.code);
  const districts = [...new Set(areaMap.all.filter((a) => a.level === "district").map((a) => a.code))];
  // The old decoder judged no date: its records may be dated today with districts' codes.
  const oldRecords = makeRecords((i, feed) => (feed === "esign" && i % 2 ? "40" : districts[i % districts.length]!), dayStart);
  const newRecords = makeRecords((i, feed) => (feed === "esign" && i % 2 ? "40" : communes[i % communes.length]!), dayStart);
  for (const [name, d, recs] of [
    ["old", old, oldRecords],
    ["new", decode, newRecords],
  ] as const) {
    const refused = recs.map((r) => d(r)).filter((r: DecodeResult) => !r.ok);
    if (refused.length) throw new Error(`the ${name} decoder refused ${refused.length} records: ${JSON.stringify(refused[0])}`);
  }

  // The area check alone, on the same areas and days.
  const districtSet = new Set(districts);
  const oldAreas = oldRecords.map((_, i) => districts[i % districts.length]!);
  const newAreas = newRecords.map((_, i) => communes[i % communes.length]!);
  const days = newRecords.map((r) => localDayNumber(r.receivedMs - 1_000));
  let sink = 0;
  const checkOld = () => {
    for (const a of oldAreas) if (districtSet.has(a) || a === "40") sink++;
  };
  const checkNew = () => {
    for (let i = 0; i < newAreas.length; i++) {
      if (areaMap.judge(newAreas[i]!, days[i]!).ok && agencyMap.judge("ubnd-xa", days[i]!).ok) sink++;
    }
  };

  // Warm-up: both decoders compiled and their memos filled.
  for (let i = 0; i < 3; i++) {
    for (const r of oldRecords) old(r);
    for (const r of newRecords) decode(r);
    checkOld();
    checkNew();
  }
  // Paired chunks: old and new on chunk c back to back (order alternating), so a burst of load
  // from elsewhere falls on a pair; the median of the pairs' ratios is the figure.
  const t = { old: [] as number[], new: [] as number[], ratio: [] as number[], checkOld: [] as number[], checkNew: [] as number[] };
  for (let k = 0; k < rounds; k++) {
    for (let c = 0; c < records; c += chunk) {
      const run = (which: "old" | "new") => {
        const [d, recs] = which === "old" ? [old, oldRecords] : [decode, newRecords];
        return time(() => {
          for (let i = c; i < c + chunk && i < records; i++) d(recs[i]!);
        });
      };
      const first = (k + c / chunk) % 2 === 0 ? "old" : "new";
      const a = run(first);
      const b = run(first === "old" ? "new" : "old");
      const [to, tn] = first === "old" ? [a, b] : [b, a];
      t.old.push(to / chunk);
      t.new.push(tn / chunk);
      t.ratio.push(tn / to);
    }
    t.checkOld.push(time(checkOld) / records);
    t.checkNew.push(time(checkNew) / records);
  }
  const o = median(t.old),
    n = median(t.new);
  const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)]!;
  console.log(
    `area-check bench: ${records.toLocaleString("en")} records, ${rounds} rounds of paired ${chunk}-record chunks (old/new back to back)`,
  );
  console.log(`  decode, old (Set of district codes) ${f(o)} ns/record (median chunk)`);
  console.log(`  decode, new (judged on its day)     ${f(n)} ns/record (median chunk)`);
  console.log(
    `  ratio new/old, median of ${t.ratio.length} pairs: ${median(t.ratio).toFixed(3)} (p25 ${pct(t.ratio, 0.25).toFixed(3)}, p75 ${pct(t.ratio, 0.75).toFixed(3)})`,
  );
  console.log(
    `  area check alone: old ${median(t.checkOld).toFixed(1)} ns, new ${median(t.checkNew).toFixed(1)} ns per record (median of rounds)`,
  );
  console.log(
    `  load average ${(await import("node:os"))
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(" ")}`,
  );
  if (sink < 0) console.log(sink);
}

await main();
