import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@pulse/db";
import { loadConfig, startExporter, type Exporter } from "@pulse/exporter";
import {
  alertmanagerConfig,
  prometheusFiles,
  eventually,
  promQuery,
  startAlertmanager,
  startPrometheus,
  type Launched,
} from "@pulse/exporter/testing";
import { createTestDatabase } from "@pulse/testkit";

// The whole alert path with real processes: exporter (fake clock) → Prometheus (rules copied from
// infra/, `for` cut to 1 s) → Alertmanager (infra/ routing, group intervals cut to 1 s) → a test
// webhook. A carrier feed turns late, then silent, then clears when it publishes again; the
// office-hours portal stays fresh overnight.
interface Notification {
  status: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string> }[];
}

const t0 = Date.parse("2026-11-26T10:00:00+07:00"); // Thursday, office hours
const s = 1000;

describe("stale feed alert reaches the webhook", () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: Db;
  let exporter: Exporter;
  let prometheus: Launched;
  let alertmanager: Launched;
  let webhook: Server;
  const received: Notification[] = [];
  let clock = t0;

  // Every feed but viettel/bts publishes right up to the clock, so it alone can go stale.
  const others = async (at: number) =>
    db.pool.query("UPDATE feed_status SET last_received_at = $1 WHERE NOT (source = 'viettel' AND feed = 'bts')", [new Date(at)]);
  const stateOf = async (source: string, feed: string) =>
    (await promQuery(prometheus.url, `pulse_feed_state{source="${source}",feed="${feed}"} == 1`))[0]?.metric.state;
  const notified = (alertname: string, status: string, source: string) =>
    received.find((n) => n.groupLabels.source === source && n.alerts.some((a) => a.labels.alertname === alertname && a.status === status));

  beforeAll(async () => {
    database = await createTestDatabase("alerting");
    db = createDb({ url: database.url, poolMax: 2 });
    await db.pool.query(
      `
      INSERT INTO feed_status (source, feed, last_received_at, events) VALUES
        ('viettel','subscribers',$1,1), ('viettel','bts',$1,1), ('vinaphone','subscribers',$1,1), ('vinaphone','bts',$1,1),
        ('mobifone','subscribers',$1,1), ('mobifone','bts',$1,1), ('vietnamobile','subscribers',$1,1), ('vietnamobile','bts',$1,1),
        ('edoc','esign',$1,1), ('dvc','egov',$1,1)`,
      [new Date(t0)],
    );
    webhook = createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        received.push(JSON.parse(body) as Notification);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => webhook.listen(0, "127.0.0.1", () => r()));
    alertmanager = await startAlertmanager(alertmanagerConfig(`http://127.0.0.1:${(webhook.address() as AddressInfo).port}/alerts`));
    exporter = await startExporter(
      loadConfig({ DATABASE_URL: database.url, METRICS_PORT: "0", NATS_URL: "none", LOG_LEVEL: "silent", EXPORTER_CACHE_MS: "200" }),
      { clock: () => clock },
    );
    // Only the exporter's targets are scraped here: ingest and live would be "down" and page too.
    const files = prometheusFiles({ exporterPort: exporter.port, alertmanagerPort: alertmanager.port });
    files["prometheus.yml"] = files["prometheus.yml"]!.replace(
      / {2}- job_name: pulse-ingest[\s\S]*?(?= {2}- job_name: pulse-exporter)/,
      "",
    ).replace(/ {2}- job_name: pulse-live[\s\S]*$/, "");
    prometheus = await startPrometheus(files);
    await eventually(async () => ((await stateOf("viettel", "bts")) === "fresh" ? true : undefined), 30_000, "a first scrape");
  });
  afterAll(async () => {
    await prometheus?.close();
    await alertmanager?.close();
    await exporter?.close();
    await new Promise((r) => webhook?.close(r));
    await db?.close();
    await database?.drop();
  });

  it("turns late after its cadence, and the webhook hears it, grouped by source", async () => {
    clock = t0 + 150 * s; // viettel bts cadence 60 s: 150 s is over 1 cadence past due
    await others(clock);
    await eventually(async () => ((await stateOf("viettel", "bts")) === "late" ? true : undefined), 15_000, "late");
    const n = await eventually(async () => notified("PulseFeedLate", "firing", "viettel"), 30_000, "PulseFeedLate at the webhook");
    expect(n.groupLabels).toEqual({ source: "viettel" });
    expect(n.alerts.find((a) => a.labels.alertname === "PulseFeedLate")!.labels).toMatchObject({
      source: "viettel",
      feed: "bts",
      severity: "warning",
    });
    // No other source is late: the others kept publishing.
    expect(received.every((r) => r.groupLabels.source === "viettel")).toBe(true);
  });

  it("turns silent after three cadences past due", async () => {
    clock = t0 + 300 * s;
    await others(clock);
    await eventually(async () => ((await stateOf("viettel", "bts")) === "silent" ? true : undefined), 15_000, "silent");
    const n = await eventually(async () => notified("PulseFeedSilent", "firing", "viettel"), 30_000, "PulseFeedSilent at the webhook");
    expect(n.alerts.find((a) => a.labels.alertname === "PulseFeedSilent")!.labels.severity).toBe("critical");
  });

  it("clears when the source publishes again", async () => {
    clock = t0 + 310 * s;
    await others(clock);
    await db.pool.query("UPDATE feed_status SET last_received_at = $1 WHERE source = 'viettel' AND feed = 'bts'", [new Date(clock)]);
    await eventually(async () => ((await stateOf("viettel", "bts")) === "fresh" ? true : undefined), 15_000, "fresh again");
    await eventually(async () => notified("PulseFeedSilent", "resolved", "viettel"), 30_000, "PulseFeedSilent resolved at the webhook");
  });

  it("keeps the office-hours portal fresh overnight while a carrier silent as long is not", async () => {
    // Everyone last heard at 16:30; it is now 23:00.
    const last = Date.parse("2026-11-26T16:30:00+07:00");
    await db.pool.query("UPDATE feed_status SET last_received_at = $1", [new Date(last)]);
    clock = Date.parse("2026-11-26T23:00:00+07:00");
    await eventually(async () => ((await stateOf("viettel", "subscribers")) === "silent" ? true : undefined), 15_000, "carrier silent");
    expect(await stateOf("dvc", "egov")).toBe("fresh");
    expect(await stateOf("edoc", "esign")).toBe("fresh");
    // Give the rules a few evaluations: nothing fires for the portal or the e-document system.
    await new Promise((r) => setTimeout(r, 3_000));
    const alerts = (await (await fetch(`${prometheus.url}/api/v1/alerts`)).json()) as {
      data: { alerts: { labels: Record<string, string> }[] };
    };
    expect(alerts.data.alerts.some((a) => a.labels.source === "dvc" || a.labels.source === "edoc")).toBe(false);
    expect(alerts.data.alerts.some((a) => a.labels.source === "viettel" && a.labels.alertname === "PulseFeedSilent")).toBe(true);
  });
});
