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
 * 10 % e-documents, 10 % dossier steps, times spread over the day. Each chunk of records is timed
 * for both (and for the new one again, a control showing the method's own noise) in a rotating
 * order, round after round, and its fastest round kept; the area check alone (the old `Set.has`
 * against today's `judge` of area, agency and level) is printed beside them.
 */
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { decode, type DecodeResult } from "@pulse/contracts";
import { agencyMap, areaMap, localDayNumber } from "@pulse/seeds";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const records = Number(process.env.BENCH_RECORDS ?? 20_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 20);
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
  // The control's records: the new ones copied, so that no run reads memory another just warmed.
  const againRecords = newRecords.map((r) => ({ ...r, subject: `${r.subject} `.trimEnd(), payload: Uint8Array.from(r.payload) }));
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
  // Chunks of the records, each timed for old, new and new again (a control: the method's own
  // noise), in a rotating order, round after round. A chunk's figure is its fastest round: load
  // from elsewhere on this shared machine only ever adds time, so the minimum is the cost.
  const chunks = Math.ceil(records / chunk);
  const best = {
    old: new Array<number>(chunks).fill(Infinity),
    new: new Array<number>(chunks).fill(Infinity),
    again: new Array<number>(chunks).fill(Infinity),
  };
  const checks = { old: [] as number[], new: [] as number[] };
  const kinds = ["old", "new", "again"] as const;
  for (let k = 0; k < rounds; k++) {
    for (let c = 0; c < chunks; c++) {
      for (let j = 0; j < 3; j++) {
        const which = kinds[(k + c + j) % 3]!;
        const [d, recs] = which === "old" ? [old, oldRecords] : [decode, which === "new" ? newRecords : againRecords];
        const ns = time(() => {
          for (let i = c * chunk; i < (c + 1) * chunk && i < records; i++) d(recs[i]!);
        });
        if (ns < best[which][c]!) best[which][c] = ns;
      }
    }
    checks.old.push(time(checkOld) / records);
    checks.new.push(time(checkNew) / records);
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const o = sum(best.old) / records,
    n = sum(best.new) / records,
    a = sum(best.again) / records;
  console.log(`area-check bench: ${records.toLocaleString("en")} records in ${chunk}-record chunks, fastest of ${rounds} rounds per chunk`);
  console.log(`  decode, old (Set of district codes) ${f(o)} ns/record`);
  console.log(
    `  decode, new (judged on its day)     ${f(n)} ns/record   ratio new/old ${(n / o).toFixed(3)} (${n >= o ? "+" : ""}${(n - o).toFixed(0)} ns)`,
  );
  console.log(`  control: new timed again            ${f(a)} ns/record   ratio again/new ${(a / n).toFixed(3)} (the method's noise)`);
  console.log(
    `  area check alone: old ${Math.min(...checks.old).toFixed(1)} ns, new ${Math.min(...checks.new).toFixed(1)} ns per record (fastest round)`,
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
