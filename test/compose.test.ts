/**
 * infra/compose.yml is valid for Debian's docker-compose (1.29; no engine needed to validate),
 * and describes what infra/README.md promises: three NATS nodes with every password
 * permissions.conf reads, Postgres, several ingest processes with R3 streams, two gateways, the
 * exporter, the HTTPS door behind its TLS proxy, Prometheus, Alertmanager and Grafana, each
 * service with its own NATS user.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { passwordVariables } from "./support/secure-nats";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "..");
const file = resolve(root, "infra", "compose.yml");

function hasDockerCompose(): boolean {
  try {
    execFileSync("docker-compose", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
const present = hasDockerCompose();
if (!present) console.warn("test/compose.test.ts skipped: docker-compose is not installed (apt-get install -y docker-compose)");

const secrets = Object.fromEntries([
  ...passwordVariables().map((v) => [`PULSE_NATS_${v}`, `p-test-${v.toLowerCase()}`]),
  ["PULSE_PG_PASSWORD", "p-test-pg"],
  ["GF_ADMIN_PASSWORD", "p-test-gf"],
]);

type Service = { environment?: Record<string, string>; command?: string[]; image?: string; network_mode?: string };

async function resolved(env: Record<string, string>): Promise<{ services: Record<string, Service> }> {
  const { stdout } = await run("docker-compose", ["-f", file, "config"], { cwd: root, env: { PATH: process.env.PATH, ...env } });
  // docker-compose is Python with PyYAML: the same parser reads its output back as JSON.
  const json = execFileSync("/usr/bin/python3", ["-c", "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"], {
    input: stdout,
  });
  return JSON.parse(json.toString());
}

describe.skipIf(!present)("infra/compose.yml", () => {
  it("is valid, with the cluster, several ingest, two gateways and the monitoring", async () => {
    const { services } = await resolved(secrets);
    const names = Object.keys(services).sort();
    expect(names).toEqual(
      [
        "alertmanager",
        "exporter",
        "feeds-http",
        "feeds-proxy",
        "grafana",
        "ingest-1",
        "ingest-2",
        "live-1",
        "live-2",
        "nats-1",
        "nats-2",
        "nats-3",
        "postgres",
        "prometheus",
      ].sort(),
    );
    for (const n of [1, 2, 3]) {
      const s = services[`nats-${n}`]!;
      expect(s.command).toEqual(["-c", `/etc/pulse/nats/cluster-node-${n}.conf`]);
      // nats-server refuses to start with one of permissions.conf's passwords missing.
      for (const v of passwordVariables()) expect(s.environment?.[`PULSE_NATS_${v}`], `nats-${n} ${v}`).toBe(`p-test-${v.toLowerCase()}`);
    }
    const url = "nats://127.0.0.1:4222,nats://127.0.0.1:4223,nats://127.0.0.1:4224";
    const own: Record<string, string> = {
      "ingest-1": "ingest",
      "ingest-2": "ingest",
      exporter: "exporter",
      "live-1": "live",
      "live-2": "live",
      "feeds-http": "feeds_http",
    };
    for (const [svc, user] of Object.entries(own)) {
      const e = services[svc]!.environment!;
      expect(e.NATS_URL, svc).toBe(url);
      expect(e.NATS_USER, svc).toBe(user);
      expect(e.NATS_PASSWORD, svc).toBe(`p-test-${user}`);
    }
    expect(services["ingest-1"]!.environment!.NATS_REPLICAS).toBe("3");
    expect(services["ingest-2"]!.environment!.NATS_REPLICAS).toBe("3");
    // Side by side on one host: no two services on one port.
    const ports = Object.values(services).flatMap((s) =>
      ["INGEST_PORT", "METRICS_PORT", "LIVE_PORT", "LIVE_ADMIN_PORT", "FEEDS_HTTP_PORT", "FEEDS_HTTP_ADMIN_PORT"]
        .map((k) => s.environment?.[k])
        .filter((p): p is string => p !== undefined),
    );
    expect(new Set(ports).size).toBe(ports.length);
  });

  it("has Prometheus scrape every ingest, exporter and gateway it runs, and nothing it does not", async () => {
    const { services } = await resolved(secrets);
    const flag = services.prometheus!.command!.find((c) => c.startsWith("--config.file=/etc/prometheus/"))!;
    const config = readFileSync(resolve(root, "infra", "prometheus", flag.slice("--config.file=/etc/prometheus/".length)), "utf8");
    const targets = [...config.matchAll(/"127\.0\.0\.1:(\d+)"/g)].map((m) => m[1]!);
    const admin = Object.values(services).flatMap((s) =>
      ["INGEST_PORT", "METRICS_PORT", "LIVE_ADMIN_PORT", "FEEDS_HTTP_ADMIN_PORT"]
        .map((k) => s.environment?.[k])
        .filter((p): p is string => p !== undefined),
    );
    expect(admin.length).toBe(6);
    // Prometheus itself and Alertmanager besides the services' /metrics.
    expect(new Set(targets)).toEqual(new Set([...admin, "9090", "9093"]));
  });

  it("refuses to resolve with a password missing, naming it", async () => {
    const { PULSE_NATS_INGEST: _drop, ...rest } = secrets;
    await expect(resolved(rest)).rejects.toThrow(/set PULSE_NATS_INGEST/);
  });
});
