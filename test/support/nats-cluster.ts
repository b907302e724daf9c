/**
 * The three-node cluster of infra/nats/, run by the repository's own infra/nats/cluster/start.sh
 * and stop.sh (on free loopback ports, in a temp folder, with fresh passwords), for tests.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { connectNats, jetstreamManager, type NatsConnection } from "@pulse/nats";
import { freePort } from "@pulse/testkit";
import { freshPasswords, passwordEnv } from "./secure-nats";

const run = promisify(execFile);
const scripts = resolve(import.meta.dirname, "..", "..", "infra", "nats", "cluster");

export interface NatsCluster {
  /** `nats://127.0.0.1:p1,nats://127.0.0.1:p2,nats://127.0.0.1:p3` */
  url: string;
  dir: string;
  ports: number[];
  passwords: Record<string, string>;
  /** A client as one of permissions.conf's users. */
  connect(user: string, name?: string): Promise<NatsConnection>;
  pid(node: number): number;
  /** SIGKILL one node (1-3): no goodbye to its peers or clients. */
  kill(node: number): void;
  /** Starts the nodes that are not running (start.sh again). */
  start(nodes?: number[]): Promise<void>;
  stop(): Promise<void>;
}

export async function startNatsCluster(): Promise<NatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), "pulse-nats-cluster-"));
  const free = async (n: number) => {
    const out: number[] = [];
    while (out.length < n) {
      const p = await freePort();
      if (!out.includes(p)) out.push(p);
    }
    return out;
  };
  const [c1, c2, c3, r1, r2, r3, h1, h2, h3] = await free(9);
  const ports = [c1!, c2!, c3!];
  const passwords = freshPasswords();
  const env = {
    ...process.env,
    ...passwordEnv(passwords),
    PULSE_NATS_CLUSTER_DIR: dir,
    PULSE_NATS_CLIENT_PORTS: ports.join(" "),
    PULSE_NATS_ROUTE_PORTS: [r1, r2, r3].join(" "),
    PULSE_NATS_HTTP_PORTS: [h1, h2, h3].join(" "),
    // The nodes go when this test process goes, however it ends.
    PULSE_NATS_WATCH_PID: String(process.pid),
  };
  const start = async (nodes = [1, 2, 3]) => {
    await run(join(scripts, "start.sh"), { env: { ...env, PULSE_NATS_NODES: nodes.join(" ") } });
  };
  await start();
  const url = ports.map((p) => `nats://127.0.0.1:${p}`).join(",");
  const cluster: NatsCluster = {
    url,
    dir,
    ports,
    passwords,
    connect: (user, name = `test-${user}`) => connectNats(url, name, { user, pass: passwords[user] }),
    pid: (node) => Number(readFileSync(join(dir, `node-${node}.pid`), "utf8").trim()),
    kill(node) {
      process.kill(cluster.pid(node), "SIGKILL");
    },
    start,
    async stop() {
      await run(join(scripts, "stop.sh"), { env }).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Ready once JetStream's meta group has a leader: the account info answers.
  const nc = await cluster.connect("ingest");
  try {
    for (const until = Date.now() + 30_000; ;) {
      try {
        await (await jetstreamManager(nc, { timeout: 1_000 })).getAccountInfo();
        break;
      } catch (err) {
        if (Date.now() > until) throw new Error(`the cluster's JetStream did not become ready: ${(err as Error).message}`, { cause: err });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } finally {
    await nc.close();
  }
  return cluster;
}

/** The node number (1-3) of a server name `pulse-N`. */
export const nodeOf = (serverName: string | undefined): number => Number(/pulse-(\d)/.exec(serverName ?? "")?.[1] ?? NaN);
