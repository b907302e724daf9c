import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository's infra/ folder. Test support only. */
export const infraDir = join(dirname(fileURLToPath(import.meta.url)), "../../../../infra");

export interface PromCopyOptions {
  exporterPort: number;
  /** Default: a closed port (the service is "down"). */
  ingestPort?: number;
  livePort?: number;
  alertmanagerPort?: number;
  /** Scrape and evaluation interval. Default "1s". */
  interval?: string;
}

/**
 * Test copies of infra/prometheus: the same config and rules, with the test's ports, a short
 * scrape/evaluation interval and every `for:` cut to 1 s, so an alert fires within seconds.
 */
export function prometheusFiles(o: PromCopyOptions): Record<string, string> {
  const interval = o.interval ?? "1s";
  const config = readFileSync(join(infraDir, "prometheus/prometheus.yml"), "utf8")
    .replace(/scrape_interval: \S+/, `scrape_interval: ${interval}`)
    .replace(/evaluation_interval: \S+/, `evaluation_interval: ${interval}`)
    .replaceAll("127.0.0.1:9464", `127.0.0.1:${o.exporterPort}`)
    .replaceAll("127.0.0.1:9465", `127.0.0.1:${o.ingestPort ?? 1}`)
    .replaceAll("127.0.0.1:9466", `127.0.0.1:${o.livePort ?? 1}`)
    .replaceAll("127.0.0.1:9093", `127.0.0.1:${o.alertmanagerPort ?? 1}`)
    .replaceAll("127.0.0.1:9090", "127.0.0.1:1");
  const files: Record<string, string> = { "prometheus.yml": config };
  for (const f of readdirSync(join(infraDir, "prometheus/rules")).filter((f) => f.endsWith(".yml") && !f.endsWith(".test.yml"))) {
    files[`rules/${f}`] = readFileSync(join(infraDir, "prometheus/rules", f), "utf8").replace(/for: \d+[smh]/g, "for: 1s");
  }
  return files;
}

/** A test copy of infra/alertmanager: the test's webhook, and groups sent after 1 s. */
export function alertmanagerConfig(webhookUrl: string): string {
  return readFileSync(join(infraDir, "alertmanager/alertmanager.yml"), "utf8")
    .replaceAll("http://127.0.0.1:9099/alerts", webhookUrl)
    .replace(/group_wait: \S+/g, "group_wait: 1s")
    .replace(/group_interval: \S+/g, "group_interval: 1s")
    .replace(/repeat_interval: \S+/g, "repeat_interval: 1h");
}

export interface DashboardQuery {
  dashboard: string;
  panel: string;
  kind: "promql" | "sql";
  query: string;
}

/** Every query of the dashboards in infra/grafana/dashboards, and the variables' queries. */
export function dashboardQueries(): { queries: DashboardQuery[]; variables: { dashboard: string; name: string; query: string }[] } {
  const dir = join(infraDir, "grafana/dashboards");
  const queries: DashboardQuery[] = [];
  const variables: { dashboard: string; name: string; query: string }[] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const d = JSON.parse(readFileSync(join(dir, f), "utf8")) as {
      panels: { title: string; targets?: { expr?: string; rawSql?: string }[] }[];
      templating?: { list: { name: string; query: string | { query: string } }[] };
    };
    for (const p of d.panels) {
      for (const t of p.targets ?? []) {
        if (t.expr) queries.push({ dashboard: f, panel: p.title, kind: "promql", query: t.expr });
        if (t.rawSql) queries.push({ dashboard: f, panel: p.title, kind: "sql", query: t.rawSql });
      }
    }
    for (const v of d.templating?.list ?? [])
      variables.push({ dashboard: f, name: v.name, query: typeof v.query === "string" ? v.query : v.query.query });
  }
  return { queries, variables };
}

/** What Grafana would send for a PromQL panel with "All" selected. */
export const expandPromql = (q: string) => q.replaceAll("$__rate_interval", "1m").replace(/\$[a-z_]+/g, ".*");

/** What Grafana's Postgres datasource would send for a time range. */
export const expandSql = (q: string, from: Date, to: Date) =>
  q
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 BETWEEN '${from.toISOString()}' AND '${to.toISOString()}'`)
    .replaceAll("$__timeFrom()", `'${from.toISOString()}'`)
    .replaceAll("$__timeTo()", `'${to.toISOString()}'`);

/** One variable of a dashboard in infra/grafana/dashboards, with its query and regex. */
export function dashboardVariable(file: string, name: string): { query: string; regex: string } {
  const d = JSON.parse(readFileSync(join(infraDir, "grafana/dashboards", file), "utf8")) as {
    templating: { list: { name: string; query: string | { query: string }; regex?: string }[] };
  };
  const v = d.templating.list.find((x) => x.name === name);
  if (!v) throw new Error(`${file} has no variable ${name}`);
  return { query: typeof v.query === "string" ? v.query : v.query.query, regex: v.regex ?? "" };
}
