import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { freePort } from "@pulse/testkit";

// `pnpm start` as a newcomer runs it: a fresh data folder, nothing configured but ports (all
// free ones, so the machine's own services and other tests are never touched), the simulator at a
// low rate. The wall's gateway and /metrics must show the article's totals within a minute;
// Ctrl-C must leave no process behind; a second start must keep the figures.
const root = resolve(import.meta.dirname, "..");
const dataDir = mkdtempSync(join(tmpdir(), "pulse-start-"));
const article = { mobile: 3_128_167, mobile_broadband: 2_700_292, fixed_broadband: 617_879, ftth: 572_594 };
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

/** Every descendant of `pid` (from /proc), so none can hide from the "no process left" check. */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function ports() {
  return {
    NATS_URL: `nats://127.0.0.1:${await freePort()}`,
    EMBEDDED_PG_PORT: String(await freePort()),
    INGEST_PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
    LIVE_PORT: String(await freePort()),
    LIVE_ADMIN_PORT: String(await freePort()),
    FEEDS_HTTP_PORT: String(await freePort()),
    FEEDS_HTTP_ADMIN_PORT: String(await freePort()),
  };
}

async function start(env: Record<string, string>) {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.PULSE_SIMULATE;
  delete base.PULSE_NAMESPACE;
  const t0 = Date.now();
  // detached: its own process group, so a Ctrl-C is a signal to the group, as a terminal sends it.
  // `node --import tsx`, not the tsx CLI: the CLI relays signals to a child and SIGKILLs it when
  // the child does not confirm within 30 ms, which a busy start (PGlite in-process) often misses.
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: root,
    env: { ...base, PULSE_DATA_DIR: dataDir, SIMULATOR_RATE: "0.1", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  running.add(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  while (!out.includes("Pulse is running")) {
    if (child.exitCode !== null) throw new Error(`start exited with ${child.exitCode}:\n${out}`);
    if (Date.now() - t0 > 60_000) throw new Error(`not running after 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const runningAfterS = (Date.now() - t0) / 1000;
  return {
    child,
    t0,
    runningAfterS,
    output: () => out,
    pids: () => [child.pid!, ...descendants(child.pid!)],
    async ctrlC() {
      process.kill(-child.pid!, "SIGINT");
      const code = await exited;
      running.delete(child);
      return code;
    },
  };
}

async function scrape(port: string) {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const sum = (metric: string, where: Record<string, string> = {}) =>
    text
      .split("\n")
      .filter((l) => l.startsWith(`${metric}{`) && Object.entries(where).every(([k, v]) => l.includes(`${k}="${v}"`)))
      .reduce((n, l) => n + Number(l.split(" ").pop()), 0);
  return {
    subscribers: Object.fromEntries(Object.keys(article).map((s) => [s, sum("pulse_subscribers", { service: s })])) as Record<
      keyof typeof article,
      number
    >,
    stations: sum("pulse_bts_stations") - sum("pulse_bts_stations", { status: "removed" }),
    viettel5gVinh: sum("pulse_bts_stations", { source: "viettel", tech: "5G", area: "412" }),
    esignToday: sum("pulse_esign_documents_today"),
  };
}

const within1 = (got: number, want: number) => Math.abs(got / want - 1) <= 0.01;
const matchesArticle = (f: Awaited<ReturnType<typeof scrape>>) =>
  Object.entries(article).every(([s, n]) => within1(f.subscribers[s as keyof typeof article], n)) &&
  f.stations === 8_176 &&
  f.viettel5gVinh === 106;

/** Subscribes to `subscribers` on the gateway and sums the latest count per key by service. */
function gatewayTotals(port: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/live`);
  const latest = new Map<string, { service: string; value: number; version: number }>();
  ws.on("open", () => ws.send(JSON.stringify({ op: "subscribe", id: "t", topics: ["subscribers"] })));
  ws.on("message", (raw) => {
    const f = JSON.parse(String(raw)) as {
      type: string;
      entries?: { metric: string; key: Record<string, string>; value: number; version: number }[];
    };
    for (const e of f.entries ?? []) {
      if (e.metric !== "subscribers") continue;
      const k = JSON.stringify(e.key);
      const had = latest.get(k);
      if (!had || e.version > had.version) latest.set(k, { service: e.key.service!, value: e.value, version: e.version });
    }
  });
  return {
    totals() {
      const t: Record<string, number> = {};
      for (const v of latest.values()) t[v.service] = (t[v.service] ?? 0) + v.value;
      return t;
    },
    close: () => ws.close(),
  };
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v !== null) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what} not reached in ${ms / 1000} s (${String(last ?? "")})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("pnpm start on a fresh data folder", () => {
  afterAll(() => {
    for (const c of running) c.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    "shows the article's totals within a minute, stops clean on Ctrl-C, and keeps the figures on a second start",
    { timeout: 170_000 },
    async () => {
      const env = await ports();
      const first = await start(env);
      expect(first.output()).toContain("simulator ON: Pulse runs on its own embedded Postgres and its own nats-server");
      expect(first.output()).toContain(`Wall screen   http://127.0.0.1:${env.LIVE_PORT}/`);
      expect(first.output()).toContain(
        `Feeds door    http://127.0.0.1:${env.FEEDS_HTTP_PORT}/v1/feeds/{feed}   no FEEDS_HTTP_TOKENS_FILE: refuses every request`,
      );
      const natsPid = Number(/local nats-server pid (\d+)/.exec(first.output())?.[1]);
      expect(natsPid).toBeGreaterThan(0);

      const gw = gatewayTotals(env.LIVE_PORT);
      const figures = await until("the article's totals on /metrics", 60_000, async () => {
        const f = await scrape(env.METRICS_PORT);
        return matchesArticle(f) ? f : null;
      });
      const gwTotals = await until("the article's totals on the gateway", 30_000, async () => {
        const t = gw.totals();
        return Object.entries(article).every(([s, n]) => within1(t[s] ?? 0, n)) ? t : null;
      });
      const firstFigureS = (Date.now() - first.t0) / 1000;
      gw.close();
      expect(firstFigureS).toBeLessThan(60);
      // The backfill: documents of today so far (unless the test runs in the first minutes of the day).
      expect(await (await fetch(`http://127.0.0.1:${env.LIVE_PORT}/`)).status).toBe(200);
      const html = await (await fetch(`http://127.0.0.1:${env.LIVE_PORT}/`)).text();
      expect(html.length).toBeGreaterThan(100);

      // Let the simulator run a little, then Ctrl-C: every process of ours is gone.
      await new Promise((r) => setTimeout(r, 2_000));
      const before = await scrape(env.METRICS_PORT);
      const pids = [...new Set([...first.pids(), natsPid])];
      expect(pids.length).toBeGreaterThanOrEqual(2); // node, nats-server (and the watchdog)
      const code = await first.ctrlC();
      expect(code).toBe(0);
      await until("every process gone", 10_000, async () => (pids.every((p) => !alive(p)) ? true : null));

      // A second start on the same folder: the figures are still there, the simulator resumes.
      const second = await start(env);
      expect(second.output()).toMatch(/resuming after them|fresh stream/);
      const kept = await until("the figures after a restart", 60_000, async () => {
        const f = await scrape(env.METRICS_PORT);
        return matchesArticle(f) && f.esignToday >= before.esignToday ? f : null;
      });
      expect(kept.esignToday).toBeGreaterThanOrEqual(before.esignToday);
      const pids2 = [...new Set([...second.pids(), Number(/local nats-server pid (\d+)/.exec(second.output())?.[1])])];
      expect(await second.ctrlC()).toBe(0);
      await until("every process gone after the second start", 10_000, async () => (pids2.every((p) => !alive(p)) ? true : null));
      console.log(
        `start: running after ${first.runningAfterS.toFixed(1)} s, the article's totals on /metrics and the gateway after ${firstFigureS.toFixed(1)} s;`,
        JSON.stringify({ figures, gateway: gwTotals, second: { runningAfterS: second.runningAfterS, kept } }),
      );
    },
  );
});
