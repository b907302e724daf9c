import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { readRunRecord } from "@pulse/config";
import { createDb } from "@pulse/db";
import { connectNats, defaultStreamNames, ensureStreams, headers, jetstream, jetstreamManager } from "@pulse/nats";
import { freePort, startNatsServer, utc7DayStart, type NatsServer } from "@pulse/testkit";
import { msgId } from "@pulse/contracts";
import { eventMix } from "./support/event-mix";
import { mixFigures } from "./support/mix-figures";

// `pnpm start` as a newcomer runs it (through scripts/run.sh, the README's command): a fresh data
// folder, nothing configured but ports (all free ones, so the machine's own services and other
// tests are never touched), the simulator at a low rate. An ambient nats-server answers at the
// start's default NATS port: the start must run its own broker and leave that one alone. The
// wall's gateway and /metrics must show the article's totals within a minute; the tools must find
// the start; Ctrl-C must exit 0 and leave no process behind; a second start must keep the figures.
const root = resolve(import.meta.dirname, "..");
const dataDir = mkdtempSync(join(tmpdir(), "pulse-start-"));
chmodSync(dataDir, 0o755); // as a checkout's .data is (the 0700 case has its own test below)
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
    PULSE_NATS_PORT: String(await freePort()),
    EMBEDDED_PG_PORT: String(await freePort()),
    INGEST_PORT: String(await freePort()),
    METRICS_PORT: String(await freePort()),
    LIVE_PORT: String(await freePort()),
    LIVE_ADMIN_PORT: String(await freePort()),
    FEEDS_HTTP_PORT: String(await freePort()),
    FEEDS_HTTP_ADMIN_PORT: String(await freePort()),
  };
}

const cleanEnv = () => {
  const base = { ...process.env };
  for (const k of ["DATABASE_URL", "NATS_URL", "PULSE_SIMULATE", "PULSE_NAMESPACE", "PULSE_DATA_DIR", "LIVE_ADMIN_URL"]) delete base[k];
  return base;
};
/** scripts/run.sh when it has nothing to install here (it then execs node: the pid is the start's), else node directly. */
const viaRunSh = (() => {
  const dry = spawnSync("bash", ["scripts/run.sh", "--dry-run"], { cwd: root, env: cleanEnv(), encoding: "utf8" });
  return dry.status === 0 && !dry.stderr.includes("would run");
})();

async function start(env: Record<string, string>, opts: { cwd?: string; dataDir?: string; runSh?: boolean } = {}) {
  const t0 = Date.now();
  // detached: its own process group, so a Ctrl-C is a signal to the group, as a terminal sends it.
  // `node --import tsx`, not the tsx CLI: the CLI relays signals to a child and SIGKILLs it when
  // the child does not confirm within 30 ms.
  const [cmd, args] = opts.runSh && viaRunSh ? ["bash", ["scripts/run.sh"]] : [process.execPath, ["--import", "tsx", "scripts/start.ts"]];
  const child = spawn(cmd, args, {
    cwd: opts.cwd ?? root,
    env: { ...cleanEnv(), PULSE_DATA_DIR: opts.dataDir ?? dataDir, SIMULATOR_RATE: "0.1", LOG_LEVEL: "info", ...env },
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
    /** A power cut: SIGINT (the drain starts), then at once SIGKILL to every process of the start, Postgres and nats-server included. */
    async crash() {
      const all = [child.pid!, ...descendants(child.pid!)];
      process.kill(-child.pid!, "SIGINT");
      for (const p of all) {
        try {
          process.kill(p, "SIGKILL");
        } catch {
          /* gone */
        }
      }
      await exited;
      running.delete(child);
      return all;
    },
  };
}

/** `pnpm pulse …` as an operator runs it in a second terminal: no DATABASE_URL, no NATS_URL. */
function pulse(args: string[], env: Record<string, string> = {}, cwd = root) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const c = spawn(process.execPath, ["--import", "tsx", "packages/cli/src/main.ts", ...args], {
      cwd,
      env: { ...cleanEnv(), PULSE_DATA_DIR: dataDir, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (err += d));
    c.once("exit", (code) => resolve({ code, out, err }));
  });
}

/** Message count of every stream on a NATS server. */
async function streamCounts(url: string) {
  const nc = await connectNats(url, "start-e2e-counts");
  try {
    const jsm = await jetstreamManager(nc);
    const counts: Record<string, number> = {};
    for await (const si of jsm.streams.list()) counts[si.config.name] = si.state.messages;
    return counts;
  } finally {
    await nc.close();
  }
}

const vinhWards = ["16681", "16690", "16702", "16708", "16732", "17920"];

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
    // Vinh's 5G stations stand in its six wards (former district 412) since 2025-07-01.
    viettel5gVinh: vinhWards.reduce((n, area) => n + sum("pulse_bts_stations", { source: "viettel", tech: "5G", area }), 0),
    // Communes with subscribers (the label sets are zero-filled: count those the simulator filled).
    communes: new Set([...text.matchAll(/^pulse_subscribers\{[^}]*area="(\d+)"[^}]*\} ([1-9]\d*)$/gm)].map((m) => m[1])).size,
    esignToday: sum("pulse_esign_documents_today"),
  };
}

const within1 = (got: number, want: number) => Math.abs(got / want - 1) <= 0.01;
const matchesArticle = (f: Awaited<ReturnType<typeof scrape>>) =>
  Object.entries(article).every(([s, n]) => within1(f.subscribers[s as keyof typeof article], n)) &&
  f.stations === 8_176 &&
  f.viettel5gVinh === 106 &&
  f.communes === 130;

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
  let ambient: NatsServer | null = null;
  afterAll(async () => {
    for (const c of running) c.kill("SIGKILL");
    await ambient?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    "beside an ambient NATS: runs its own broker and leaves that one alone, shows the article's totals, the tools find it, Ctrl-C exits 0, a second start keeps the figures",
    { timeout: 240_000 },
    async () => {
      // The ambient server: some NATS already answering at the start's default port, with
      // Pulse's own stream names on it and a message in each. Nothing of the start may land there.
      ambient = await startNatsServer();
      const anc = await connectNats(ambient.url, "ambient");
      await ensureStreams(anc, { names: defaultStreamNames });
      const ajs = jetstream(anc);
      await ajs.publish("feeds.egov.dvc", "{}");
      await ajs.publish("feeds.esign.edoc", "{}");
      await anc.close();
      const ambientBefore = await streamCounts(ambient.url);

      const env = { ...(await ports()), PULSE_NATS_PORT: String(ambient.port) };
      const first = await start(env, { runSh: true });
      expect(first.output()).toContain(`port ${ambient.port} is taken (an ambient server is never used)`);
      expect(first.output()).toContain("simulator ON: Pulse runs on its own embedded Postgres and its own nats-server");
      expect(first.output()).toContain(`Wall screen   http://127.0.0.1:${env.LIVE_PORT}/`);
      expect(first.output()).toContain(
        `Feeds door    http://127.0.0.1:${env.FEEDS_HTTP_PORT}/v1/feeds/{feed}   no FEEDS_HTTP_TOKENS_FILE: refuses every request`,
      );
      const natsPid = Number(/own nats-server pid (\d+)/.exec(first.output())?.[1]);
      const pgPid = Number(/embedded PostgreSQL 15 pid (\d+)/.exec(first.output())?.[1]);
      expect(natsPid).toBeGreaterThan(0);
      expect(pgPid).toBeGreaterThan(0);

      // The record the tools read: this start's pid (run.sh exec'd node), its servers, 0600.
      const seen = readRunRecord(dataDir);
      expect(seen.live).toBe(true);
      expect(seen.record!.pid).toBe(first.child.pid);
      expect(statSync(seen.path).mode & 0o777).toBe(0o600);
      expect(seen.record!.natsUrl).not.toContain(`:${ambient.port}`);
      expect(first.output()).toContain(`psql '${seen.record!.databaseUrl}'`);

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

      // A second terminal: the tools and psql find this start without any variable.
      const status = await pulse(["status"]);
      expect(status.code, status.out + status.err).toBe(0);
      expect(status.out).toMatch(/viettel +subscribers/);
      const dlq = await pulse(["dlq", "list"]);
      expect(dlq.code, dlq.err).toBe(0);
      const psql = spawnSync("psql", [seen.record!.databaseUrl, "-Atc", "SELECT count(*) > 0 FROM events"], { encoding: "utf8" });
      expect(psql.stdout.trim(), psql.stderr).toBe("t");

      // A second start on the same data is refused, naming the first.
      const twice = spawnSync(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
        cwd: root,
        env: { ...cleanEnv(), ...(await ports()), PULSE_DATA_DIR: dataDir, LOG_LEVEL: "info" },
        encoding: "utf8",
        timeout: 60_000,
      });
      expect(twice.status).toBe(1);
      expect(twice.stderr).toContain(`the data directory ${dataDir} (pnpm start) is in use by pid ${first.child.pid}`);
      expect(readRunRecord(dataDir).record!.pid).toBe(first.child.pid); // its record left alone

      // Let the simulator run a little, then Ctrl-C: exit 0, every process of ours is gone.
      await new Promise((r) => setTimeout(r, 2_000));
      const before = await scrape(env.METRICS_PORT);
      // `pnpm start` is a child process on the real clock: "today" can end between the two starts.
      const beforeDay = utc7DayStart(Date.now());
      const pids = [...new Set([...first.pids(), natsPid, pgPid])];
      expect(pids.length).toBeGreaterThanOrEqual(4); // node, nats-server, postgres and its workers, the watchdogs
      const code = await first.ctrlC();
      expect(code).toBe(0);
      await until("every process gone", 10_000, async () => (pids.every((p) => !alive(p)) ? true : null));
      expect(readRunRecord(dataDir).record).toBeNull();
      expect(await streamCounts(ambient.url)).toEqual(ambientBefore);

      // A second start on the same folder: the figures are still there, the simulator resumes.
      const second = await start(env);
      expect(second.output()).toMatch(/resuming after them|fresh stream/);
      const kept = await until("the figures after a restart", 60_000, async () => {
        const f = await scrape(env.METRICS_PORT);
        const sameDay = utc7DayStart(Date.now()) === beforeDay;
        return matchesArticle(f) && (!sameDay || f.esignToday >= before.esignToday) ? { ...f, sameDay } : null;
      });
      // Today's documents are kept across the restart (unless a UTC+7 midnight came in between).
      if (kept.sameDay) expect(kept.esignToday).toBeGreaterThanOrEqual(before.esignToday);
      const pids2 = [...new Set(second.pids())];
      expect(await second.ctrlC()).toBe(0);
      await until("every process gone after the second start", 10_000, async () => (pids2.every((p) => !alive(p)) ? true : null));
      console.log(
        `start: running after ${first.runningAfterS.toFixed(1)} s, the article's totals on /metrics and the gateway after ${firstFigureS.toFixed(1)} s;`,
        JSON.stringify({ figures, gateway: gwTotals, second: { runningAfterS: second.runningAfterS, kept } }),
      );
    },
  );
});

describe("pnpm start after a crash", () => {
  const dir = mkdtempSync(join(tmpdir(), "pulse-crash-"));
  chmodSync(dir, 0o755);
  afterAll(() => {
    for (const c of running) c.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it(
    "SIGKILL of every process mid-drain (Postgres and nats-server too), then a restart: the figures are exact",
    { timeout: 240_000 },
    async () => {
      const env = { ...(await ports()), PULSE_SIMULATE: "0", INGEST_BATCH_SIZE: "200" };
      const first = await start(env, { dataDir: dir });
      const rec = readRunRecord(dir).record!;
      const { events, expected } = eventMix(20_000, 23);
      const nc = await connectNats(rec.natsUrl, "start-e2e-crash");
      const js = jetstream(nc);
      const publishAll = async () => {
        for (let i = 0; i < events.length; i += 1_000) {
          await Promise.all(
            events.slice(i, i + 1_000).map((e) => {
              const h = headers();
              h.set("Nats-Msg-Id", msgId(e.source, e.env.id, e.env.revision ?? 0));
              return js.publish(`feeds.${e.feed}.${e.source}`, JSON.stringify({ v: 1, source: e.source, ...e.env }), { headers: h });
            }),
          );
        }
      };
      await publishAll();
      await nc.close();
      const db = createDb({ url: rec.databaseUrl, poolMax: 1 });
      const count = async () => Number((await db.pool.query<{ n: string }>("SELECT count(*) AS n FROM events")).rows[0]!.n);
      await until("some events committed", 60_000, async () => ((await count()) > 1_000 ? true : null));
      await db.close();
      const killed = await first.crash();
      await until("every process gone", 10_000, async () => (killed.every((p) => !alive(p)) ? true : null));

      const second = await start(env, { dataDir: dir });
      const rec2 = readRunRecord(dir).record!;
      // Publish everything again, as a producer that never heard back would: still exactly once.
      const nc2 = await connectNats(rec2.natsUrl, "start-e2e-crash-2");
      const js2 = jetstream(nc2);
      for (let i = 0; i < events.length; i += 1_000) {
        await Promise.all(
          events
            .slice(i, i + 1_000)
            .map((e) => js2.publish(`feeds.${e.feed}.${e.source}`, JSON.stringify({ v: 1, source: e.source, ...e.env }))),
        );
      }
      await nc2.close();
      const db2 = createDb({ url: rec2.databaseUrl, poolMax: 1 });
      try {
        const got = await until("the exact figures", 120_000, async () => {
          const f = await mixFigures(db2);
          return JSON.stringify({ ...f }) === JSON.stringify({ ...expected, grainsAgree: true }) ? f : null;
        }).catch(async (err: Error) => {
          expect({ ...(await mixFigures(db2)) }).toEqual({ ...expected, grainsAgree: true });
          throw err;
        });
        expect({ ...got }).toEqual({ ...expected, grainsAgree: true });
        expect(Number((await db2.pool.query<{ n: string }>("SELECT count(*) AS n FROM dead_letters")).rows[0]!.n)).toBe(0);
      } finally {
        await db2.close();
      }
      expect(await second.ctrlC()).toBe(0);
    },
  );
});

describe("pnpm start from a clone under a 0700 directory, with a .data/pg left by PGlite", () => {
  // As root, Postgres runs as the postgres user, which cannot enter /root/…: the cluster and the
  // binaries go where it can (/var/lib/pulse), linked from .data/pg.
  const home = mkdtempSync(join(process.getuid?.() === 0 ? "/root" : tmpdir(), "pulse-clone-")); // 0700
  const clone = join(home, "pulse");
  let cluster: string | null = null;
  afterAll(() => {
    for (const c of running) c.kill("SIGKILL");
    if (cluster?.startsWith("/var/lib/pulse/pg-")) rmSync(cluster, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it("moves the PGlite directory aside, runs a real Postgres the tools and psql reach, and stops clean", { timeout: 300_000 }, async () => {
    expect(statSync(home).mode & 0o777).toBe(0o700);
    const git = spawnSync("git", ["clone", "-q", root, clone], { encoding: "utf8" });
    expect(git.status, git.stderr).toBe(0);
    const install = spawnSync("pnpm", ["install", "--frozen-lockfile", "--offline"], { cwd: clone, encoding: "utf8", timeout: 240_000 });
    expect(install.status, install.stdout + install.stderr).toBe(0);
    // What PGlite left in every checkout: .data/pg/pgdata and .data/pg/pulse.lock.
    const data = join(clone, ".data");
    spawnSync("mkdir", ["-p", join(data, "pg", "pgdata")]);
    spawnSync("sh", ["-c", `echo 17 > ${data}/pg/pgdata/PG_VERSION; echo 4194305 > ${data}/pg/pulse.lock`]);

    const env = { ...(await ports()), PULSE_SIMULATE: "0" };
    const s = await start(env, { cwd: clone, dataDir: data });
    expect(s.output()).toMatch(new RegExp(`${data}/pg was made by PGlite .*; moved aside to ${data}/pg-pglite-\\d{8}-\\d{6}`));
    if (process.getuid?.() === 0) {
      expect(s.output()).toContain(`the postgres user cannot enter ${data}; the cluster lives in /var/lib/pulse/pg-`);
      cluster = /the cluster lives in (\S+),/.exec(s.output())![1]!;
    }
    const rec = readRunRecord(data).record!;
    const psql = spawnSync("psql", [rec.databaseUrl, "-Atc", "SELECT current_setting('server_version_num')::int / 10000"], {
      encoding: "utf8",
    });
    expect(psql.stdout.trim(), psql.stderr).toBe("15");
    const status = await pulse(["status"], { PULSE_DATA_DIR: data }, clone);
    expect(status.code, status.out + status.err).toBe(0);
    const pids = s.pids();
    expect(await s.ctrlC()).toBe(0);
    await until("every process gone", 10_000, async () => (pids.every((p) => !alive(p)) ? true : null));
  });
});
