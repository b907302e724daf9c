import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { runPulse } from "@pulse/cli/testing";
import { loadConfig as exporterConfig, startExporter, type Exporter } from "@pulse/exporter";
import { parseMetrics, type Sample } from "@pulse/exporter/testing";
import { ingestHarness, make, type Harness } from "@pulse/ingest/test-harness";
import { loadConfig as liveConfig, startLive, type Live } from "@pulse/live";

// `pulse status` reads what the exporter reads, the way it reads it: feed by feed its state and
// last receipt equal the exporter's series, the dead letters held too; and the real gateway's
// clients.
const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 19) + "+07:00";

describe("pulse status", () => {
  let h: Harness;
  let exporter: Exporter;
  let live: Live;
  let env: Record<string, string>;
  const sockets: WebSocket[] = [];
  beforeAll(async () => {
    h = await ingestHarness("cli_status");
    const common = { DATABASE_URL: h.database.url, NATS_URL: h.config.natsUrl, LOG_LEVEL: "silent", EXPORTER_BEHIND_PENDING: "2" };
    exporter = await startExporter(exporterConfig({ ...common, METRICS_PORT: "0", EXPORTER_CACHE_MS: "0" }, { names: h.names }));
    live = await startLive(liveConfig({ ...common, LIVE_PORT: "0", LIVE_ADMIN_PORT: "0" }, { names: h.names }));
    env = { ...common, PULSE_NAMESPACE: h.names.namespace!, LIVE_ADMIN_URL: `http://127.0.0.1:${live.adminPort}` };
    const now = Date.now();
    await h.publish("bts", "viettel", make.bts("b1", "A", "up", { ts: local(now - 5_000) }));
    await h.publish("subscribers", "mobifone", make.subscribers("s1", "mobile", 10, { ts: local(now - 5_000) }));
    await h.publish("egov", "dvc", make.egov("x1:received", "received", { ts: "2026-11-26T09:15:00", area: "16681" }));
    await h.publish("egov", "dvc", make.egov("x2:received", "received", { area: "999" }));
    await h.settle();
    for (let i = 0; i < 2; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${live.port}/live`);
      sockets.push(ws);
      await new Promise((ok, fail) => (ws.once("open", ok), ws.once("error", fail)));
    }
  });
  afterAll(async () => {
    for (const ws of sockets) ws.close();
    await live?.close();
    await exporter?.close();
    await h?.close();
  });

  const scrape = async (): Promise<Sample[]> => parseMetrics(await (await fetch(`http://127.0.0.1:${exporter.port}/metrics`)).text());
  const states = (s: Sample[]) =>
    s
      .filter((x) => x.name === "pulse_feed_state" && x.value === 1)
      .map((x) => `${x.labels.source}/${x.labels.feed}=${x.labels.state}`)
      .sort();
  const mine = (out: { feeds: { source: string; feed: string; state: string }[] }) =>
    out.feeds.map((f) => `${f.source}/${f.feed}=${f.state}`).sort();

  it("shows what the exporter shows, and the gateway's clients", async () => {
    await exporter.pipeline.poll();
    const r = await runPulse(["status", "--json"], env);
    expect(r.code, r.stderr).toBe(0);
    const out = r.json();
    const s = await scrape();
    expect(mine(out)).toEqual(states(s));
    expect(mine(out)).toContain("viettel/bts=fresh");
    expect(mine(out)).toContain("vinaphone/bts=silent");
    for (const f of out.feeds) {
      const last = s.find(
        (x) => x.name === "pulse_feed_last_received_timestamp_seconds" && x.labels.source === f.source && x.labels.feed === f.feed,
      )!;
      expect(f.last_received_at === null ? 0 : Date.parse(f.last_received_at) / 1000, `${f.source}/${f.feed}`).toBeCloseTo(last.value, 3);
    }
    const held = Object.fromEntries(
      s.filter((x) => x.name === "pulse_dead_letters_stored" && x.value > 0).map((x) => [x.labels.reason, x.value]),
    );
    expect(Object.fromEntries(out.dead_letters_held.map((d: { reason: string; count: number }) => [d.reason, d.count]))).toEqual(held);
    expect(held).toEqual({ bad_time: 1, unknown_area: 1 });
    expect(out.consumers.every((c: { pending: number; behind: boolean }) => c.pending === 0 && !c.behind)).toBe(true);
    expect(out.gateway).toEqual({ url: env.LIVE_ADMIN_URL, clients: 2 });
    const text = (await runPulse(["status"], env)).stdout;
    expect(text).toMatch(/Live gateway \(http:\/\/127\.0\.0\.1:\d+\): 2 clients/);
    expect(text).toMatch(/bad_time +1\n/);
  });

  it("blames the pipeline when ingest is behind, as the exporter does", async () => {
    await h.stopIngest();
    try {
      for (let i = 0; i < 3; i++) await h.publish("bts", "vinaphone", make.bts(`v${i}`, "C", "up", { ts: local(Date.now()) }));
      await exporter.pipeline.poll();
      const out = (await runPulse(["status", "--json"], env)).json();
      expect(out.consumers.find((c: { feed: string }) => c.feed === "bts")).toMatchObject({ pending: 3, behind: true });
      expect(mine(out)).toContain("vinaphone/bts=pipeline_behind");
      expect(mine(out)).toEqual(states(await scrape()));
    } finally {
      await h.startIngest();
    }
  });
});
