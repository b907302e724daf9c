import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeRunRecord } from "@pulse/config";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "./config";
import { announceWriteTarget } from "./connect";
import type { CliIo } from "./io";

const dir = mkdtempSync(join(tmpdir(), "pulse-cli-record-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const record = (pid: number) =>
  writeRunRecord(dir, {
    pid,
    startedAt: new Date().toISOString(),
    databaseUrl: "postgres://postgres:s3cret@127.0.0.1:41111/postgres",
    natsUrl: "nats://127.0.0.1:41222",
    ownNats: true,
    liveAdminUrl: "http://127.0.0.1:41333",
  });
const io = () => {
  let err = "";
  return { io: { stderr: { write: (s: string) => (err += s) } } as unknown as CliIo, err: () => err };
};

describe("the tools find the running start through .data/pulse.json", () => {
  it("use a live start's servers when the environment names none; the environment always wins", () => {
    record(process.pid);
    expect(statSync(join(dir, "pulse.json")).mode & 0o777).toBe(0o600);
    const c = loadConfig({ PULSE_DATA_DIR: dir });
    expect(c).toMatchObject({
      databaseUrl: "postgres://postgres:s3cret@127.0.0.1:41111/postgres",
      databaseFrom: "start",
      natsUrl: "nats://127.0.0.1:41222",
      natsFrom: "start",
      liveAdminUrl: "http://127.0.0.1:41333",
      start: { pid: process.pid, live: true },
    });
    const o = io();
    announceWriteTarget(o.io, c, "nats");
    expect(o.err()).toBe(`writing into NATS nats://127.0.0.1:41222 (pnpm start pid ${process.pid}, ${dir}/pulse.json)\n`);

    const env = loadConfig({ PULSE_DATA_DIR: dir, NATS_URL: "nats://10.0.0.5:4222", DATABASE_URL: "postgres://x@10.0.0.6/pulse" });
    expect(env).toMatchObject({
      natsUrl: "nats://10.0.0.5:4222",
      natsFrom: "env",
      databaseUrl: "postgres://x@10.0.0.6/pulse",
      databaseFrom: "env",
    });
  });

  it("ignore a stale record, and then refuse to write without NATS_URL / DATABASE_URL", () => {
    record(4194305); // above any pid_max: a start that is gone
    const c = loadConfig({ PULSE_DATA_DIR: dir });
    expect(c).toMatchObject({ natsUrl: "nats://127.0.0.1:4222", natsFrom: "default", databaseFrom: "default", start: { live: false } });
    expect(() => announceWriteTarget(io().io, c, "nats")).toThrow(
      `NATS_URL is not set and the pnpm start recorded in ${dir}/pulse.json (pid 4194305) is gone: nothing says where to write.`,
    );
    expect(() => announceWriteTarget(io().io, c, "database")).toThrow(/DATABASE_URL is not set/);
    const o = io();
    announceWriteTarget(o.io, loadConfig({ PULSE_DATA_DIR: dir, NATS_URL: "nats://127.0.0.1:4222" }), "nats");
    expect(o.err()).toBe("writing into NATS nats://127.0.0.1:4222 (NATS_URL)\n");
  });
});
