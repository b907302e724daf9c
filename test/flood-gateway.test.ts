import { fork, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LiveChange } from "@pulse/contracts";
import { areaMap, localDayNumber } from "@pulse/seeds";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { allLogTopics, clientValues, LiveClient, postgresValues } from "@pulse/live/testing";
import { DeliverPolicy, type ConsumerMessages } from "@pulse/nats";
import { freePort } from "@pulse/testkit";

// The gateway under abuse, all at once: 5,000 connections opened and dropped (closed, cut,
// half-open handshakes), 50 clients that never read, 1,000 subscriptions on one socket, oversize
// and invalid frames (JSON, binary, a payload length of 2^40, unmasked frames, bad opcodes, bytes
// that are no HTTP at all), while a steady stream of events flows through the real pipeline
// (ingest → Postgres → relay → LIVE). The gateway runs as its own process (services/live/src/main.ts,
// default configuration) so that its RSS is its own. It must stay up, hold its memory, leak no
// client, and a well-behaved client must get every change within its usual latency and end
// equal to Postgres.
const root = resolve(import.meta.dirname, "..");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 23) + "+07:00";

let h: Harness;
let gw: ChildProcess;
let port = 0;
let adminPort = 0;
let gwOut = "";
let abuser: ChildProcess;
const clients: LiveClient[] = [];
interface Abuse {
  ms: number;
  churned: Record<string, number>;
  rawResults: (number | string | null)[];
  many: { snapshots: number; errors: string[]; close: number | null };
  replacing: { snapshots: number; errors: number; close: number | null };
  bad: (number | null)[];
}
const fromAbuser = <T>(pred: (m: T) => boolean) =>
  new Promise<T>((resolveP) => {
    const on = (m: T) => {
      if (!pred(m)) return;
      abuser.off("message", on);
      resolveP(m);
    };
    abuser.on("message", on);
  });

const rssOf = (pid: number) => {
  // /proc/<pid>/statm: size resident … in pages.
  return Number(readFileSync(`/proc/${pid}/statm`, "utf8").split(" ")[1]) * 4096;
};
const scrape = async () => {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
  const get = (name: string) => {
    const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
    return line ? Number(line.split(" ").at(-1)) : NaN;
  };
  return {
    heap: get("pulse_live_nodejs_heap_size_used_bytes"),
    clients: get("pulse_live_clients"),
    slowCloses: get("pulse_live_slow_closes_total"),
    rejected: text
      .split("\n")
      .filter((l) => l.startsWith("pulse_live_rejected_total{"))
      .reduce((a, l) => a + Number(l.split(" ").at(-1)), 0),
  };
};
const healthz = async () => {
  const r = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: r.status, body: (await r.json()) as { ok: boolean; seq: number; clients: number } };
};

beforeAll(async () => {
  h = await ingestHarness("flood_gateway");
  port = await freePort();
  adminPort = await freePort();
  // node --import tsx (not the tsx CLI, which runs the script in a child): the pid is the gateway's.
  gw = spawn(process.execPath, ["--import", "tsx", "services/live/src/main.ts"], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: h.database.url,
      NATS_URL: h.config.natsUrl,
      PULSE_NAMESPACE: h.names.namespace!,
      LIVE_PORT: String(port),
      LIVE_ADMIN_PORT: String(adminPort),
      LIVE_HOST: "127.0.0.1",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  gw.stdout!.on("data", (d) => (gwOut = (gwOut + d).slice(-10_000)));
  gw.stderr!.on("data", (d) => (gwOut = (gwOut + d).slice(-10_000)));
  for (let until = Date.now() + 30_000; ;) {
    if (gw.exitCode !== null) throw new Error(`gateway exited ${gw.exitCode}: ${gwOut}`);
    try {
      if ((await healthz()).status === 200) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`gateway not healthy in 30 s: ${gwOut}`);
    await sleep(100);
  }
  abuser = fork(resolve(root, "test/support/flood-gateway-abuse.ts"), [], {
    cwd: root,
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  await fromAbuser<{ ok?: string }>((m) => m.ok === "ready");
});
afterAll(async () => {
  if (abuser && abuser.exitCode === null) {
    abuser.send({ cmd: "close" });
    await Promise.race([new Promise((r) => abuser.once("exit", r)), sleep(5_000)]);
    if (abuser.exitCode === null) abuser.kill("SIGKILL");
  }
  for (const c of clients) c.ws.terminate();
  if (gw && gw.exitCode === null) {
    gw.kill("SIGTERM");
    await Promise.race([new Promise((r) => gw.once("exit", r)), sleep(10_000)]);
    if (gw.exitCode === null) gw.kill("SIGKILL");
  }
  await h?.close();
});

// --- the steady stream: events of the four feeds through the real pipeline -----------------
/** The communes and wards in force today (by the test's clock). */
const communes = [...areaMap.leafCodesOn(localDayNumber(Date.now()))];
let n = 0;
let publishing = true;
let published = 0;
async function steadyLoad(perSecond: number): Promise<void> {
  const t0 = performance.now();
  for (let slot = 0; publishing; slot++) {
    const now = Date.now();
    const batch: Promise<unknown>[] = [];
    for (let k = 0; k < perSecond / 10; k++) {
      const i = n++;
      const ts = { ts: local(now - 1_000) };
      const area = communes[i % communes.length]!;
      const e =
        i % 4 === 0
          ? h.publish("subscribers", ["viettel", "vinaphone", "mobifone"][i % 3]!, make.subscribers(`s${i}`, "mobile", i, { ...ts, area }))
          : i % 4 === 1
            ? h.publish("bts", "viettel", make.bts(`b${i}`, `ST${i % 300}`, i % 3 ? "up" : "down", { ...ts, area }))
            : i % 4 === 2
              ? h.publish("esign", "edoc", make.esign(`d${i}`, i % 20 !== 0, { ...ts, agency: "so-khcn" }))
              : h.publish(
                  "egov",
                  "dvc",
                  make.egov(`x${i}`, "", {
                    ...ts,
                    area,
                    data: {
                      procedure: "p",
                      agency: "ubnd-xa",
                      level: "commune",
                      channel: "online_full",
                      status: i % 5 ? "received" : "resolved_on_time",
                    },
                  }),
                );
      batch.push(e.then(() => published++));
    }
    await Promise.all(batch);
    const wait = t0 + (slot + 1) * 100 - performance.now();
    if (wait > 0) await sleep(wait);
  }
}

describe("the gateway under abuse, with the real pipeline flowing", () => {
  it("stays up, bounded in memory, leaks no client; a good client gets every change in its usual time and equals Postgres", async () => {
    // The well-behaved client, and when it received each change (by version = change id).
    const good = LiveClient.connect(`ws://127.0.0.1:${port}/live`);
    clients.push(good);
    await good.opened;
    const received: [number, number][] = [];
    const firstSeen = new Set<number>();
    good.ws.on("message", (data) => {
      const now = Date.now();
      const f = JSON.parse(data.toString()) as { type: string; entries?: { version: number; metric: string }[] };
      if (f.type !== "delta") return;
      for (const e of f.entries ?? []) {
        if (e.metric === "kpi" || e.metric === "freshness" || e.metric === "rollup" || firstSeen.has(e.version)) continue;
        firstSeen.add(e.version);
        received.push([e.version, now]);
      }
    });
    good.subscribe("all", [...allLogTopics, "kpi", "freshness", "rollup"]);
    await good.next((f) => f.type === "snapshot");

    // Commit times of every change, from LIVE itself.
    const committedAt = new Map<number, number>();
    const followed: ConsumerMessages = await (await h.js.consumers.get(h.names.live, { deliver_policy: DeliverPolicy.New })).consume();
    void (async () => {
      for await (const m of followed) {
        const c = m.json<LiveChange>();
        committedAt.set(c.change_id, Date.parse(c.at));
      }
    })();

    // Memory, every 250 ms, of the gateway's process alone.
    const mem: { t: number; phase: string; rss: number; heap: number }[] = [];
    let phase = "before";
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await scrape().catch(() => null);
        mem.push({ t: Date.now(), phase, rss: rssOf(gw.pid!), heap: m?.heap ?? NaN });
        await sleep(250);
      }
    })();

    const load = steadyLoad(200);
    await sleep(8_000);
    const abuseFrom = Date.now();
    phase = "abuse";

    abuser.send({ cmd: "run", port });
    const ab = await fromAbuser<{ result?: Abuse }>((m) => m.result !== undefined).then((m) => m.result!);
    const abuseMs = ab.ms;

    // Let the paused ones be judged (LIVE_SLOW_MS, 10 s by default) while the load still flows.
    for (let until = Date.now() + 20_000; Date.now() < until;) {
      const m = await scrape();
      if (m.slowCloses >= 50) break;
      await sleep(250);
    }
    phase = "after";
    await sleep(3_000);
    publishing = false;
    await load;
    await h.settle(30_000);
    const stream = await (await h.js.streams.get(h.names.live)).info();
    await good.until(() => good.seq >= stream.state.last_seq, 20_000, "the good client at LIVE's last sequence");
    await sleep(300);
    sampling = false;
    await sampler;
    await followed.close();

    // --- what happened ------------------------------------------------------------------------
    const end = await scrape();
    const health = await healthz();
    const lat = (from: number, to: number) =>
      received.filter(([v, at]) => at >= from && at < to && committedAt.has(v)).map(([v, at]) => at - committedAt.get(v)!);
    const before = lat(0, abuseFrom);
    const during = lat(abuseFrom, abuseFrom + abuseMs + 12_000);
    const stats = (xs: number[]) => `p50 ${quantile(xs, 0.5)} ms, p99 ${quantile(xs, 0.99)} ms, max ${Math.max(...xs)} ms (n=${xs.length})`;
    const byPhase = (p: string) => mem.filter((m) => m.phase === p);
    const peak = (xs: typeof mem, k: "rss" | "heap") => Math.max(...xs.map((m) => m[k]).filter(Number.isFinite));
    const base = byPhase("before");
    const baseRss = peak(base, "rss");
    const baseHeap = peak(base, "heap");
    const abuse = byPhase("abuse");
    const last = mem.at(-1)!;
    console.log(
      [
        `flood-gateway: ${published} events published through the pipeline; abuse lasted ${(abuseMs / 1000).toFixed(1)} s`,
        `  churn: ${JSON.stringify(ab.churned)}; raw frames → ${JSON.stringify(ab.rawResults)}`,
        `  paused: 50 never reading, slow closes ${end.slowCloses}; 1,000 subscriptions: ${ab.many.snapshots} snapshots, ` +
          `${ab.many.errors.length} errors, close ${ab.many.close}; 1,000 replacing: ${ab.replacing.snapshots} snapshots, ` +
          `${ab.replacing.errors} errors, close ${ab.replacing.close}; bad frames: closes ${JSON.stringify(ab.bad)}`,
        `  gateway memory: before RSS ${mib(baseRss)} heap ${mib(baseHeap)}; during abuse peak RSS ${mib(peak(abuse, "rss"))} heap ${mib(peak(abuse, "heap"))}; ` +
          `end RSS ${mib(last.rss)} heap ${mib(last.heap)}; clients at the end ${end.clients}, rejected frames ${end.rejected}`,
        `  good client commit→receipt: before ${stats(before)}; during abuse ${stats(during)}`,
      ].join("\n"),
    );

    // It stayed up and serves.
    expect(gw.exitCode).toBeNull();
    expect(health.status).toBe(200);
    expect(good.closeCode).toBeNull();
    expect(good.frames.some((f) => f.type === "snapshot" && f.reset)).toBe(false);
    // No client left behind: the good one, and the replacing one (a socket that behaved), whatever the 5,000 did.
    expect(end.clients).toBe(2);
    expect(health.body.clients).toBe(2);
    // Every abuse answered as the protocol says.
    expect(Object.values(ab.churned).reduce((x, y) => x + y, 0)).toBe(5_000);
    expect(ab.rawResults.slice(0, 4)).toEqual([1009, 1002, 1002, 1002]);
    expect(ab.rawResults[4]).not.toMatch(/^HTTP\/1.1 101/);
    expect(ab.rawResults[5]).toMatch(/^HTTP\/1.1 404/);
    // The 50 that never read were closed (1013) by the gateway, not kept.
    expect(end.slowCloses).toBeGreaterThanOrEqual(50);
    // Distinct ids: at most 32 answered (a snapshot in flight when the socket closes is not sent), the rest refused, then 1008.
    expect(ab.many.snapshots).toBeLessThanOrEqual(32);
    expect(ab.many.errors.length).toBe(51);
    expect(new Set(ab.many.errors)).toEqual(new Set(["too_many_subscriptions"]));
    expect(ab.many.close).toBe(1008);
    // One id, replaced 1,000 times at once: one subscription, every request answered.
    expect(ab.replacing.snapshots).toBe(1_000);
    expect(ab.replacing.errors).toBe(0);
    expect(ab.replacing.close).toBeNull();
    expect(ab.bad).toEqual([...Array(10).fill(1009), ...Array(10).fill(1008)]);
    // Memory bounded: what 5,000 sockets and 50 stuck readers cost is bounded, and given back.
    expect(peak(abuse, "rss") - baseRss).toBeLessThan(300 * 1048576);
    expect(last.heap - baseHeap).toBeLessThan(64 * 1048576);
    // The good client: every change, in order of versions, equal to Postgres at the end…
    expect(clientValues(good)).toEqual(await postgresValues(h.db));
    // …and on time: its p99 during the abuse within a second, or three times its p99 before
    // (measured alone: 98 ms before, 163 ms during). It once was seconds: the gateway's LIVE
    // consumer stalled for 5 s at a time (test/regressions/live-follow-no-stall.test.ts).
    expect(before.length).toBeGreaterThan(100);
    expect(during.length).toBeGreaterThan(100);
    expect(quantile(during, 0.99)).toBeLessThan(Math.max(1_000, 3 * quantile(before, 0.99)));
    expect(Math.max(...during)).toBeLessThan(3_000);
  }, 120_000);
});
