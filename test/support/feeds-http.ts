/**
 * The HTTPS door against a real ingest (scratch database, scratch streams), with `curl` as the
 * client: tokens in a temp file, and a `curl()` that returns status, headers and the JSON answer.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newBearerToken, tokenFileLine, type Logger } from "@pulse/config";
import { loadConfig, startFeedsHttp, type FeedsHttp, type FeedsHttpConfig } from "@pulse/feeds-http";
import type { Harness } from "@pulse/ingest/test-harness";

export const curlBin = "/usr/bin/curl";

export const quiet: Logger = { info: () => {}, warn: () => {}, error: () => {}, child: () => quiet };

export interface Door {
  door: FeedsHttp;
  url: string;
  dir: string;
  tokensFile: string;
  tokens: Record<string, string>;
  close(): Promise<void>;
}

/** Starts a door on the harness's streams and database with a token for each of `sources`. */
export async function startDoor(
  h: Pick<Harness, "names"> & { database: { url: string }; config: { natsUrl: string } },
  sources: string[],
  env: Record<string, string> = {},
  overrides: Partial<FeedsHttpConfig> = {},
  log: Logger = quiet,
): Promise<Door> {
  const dir = mkdtempSync(join(tmpdir(), "pulse-feeds-http-"));
  const tokensFile = join(dir, "tokens");
  const tokens = Object.fromEntries(sources.map((s) => [s, newBearerToken()]));
  writeFileSync(
    tokensFile,
    Object.entries(tokens)
      .map(([s, t]) => tokenFileLine(s, t))
      .join("\n") + "\n",
  );
  const config = loadConfig(
    {
      FEEDS_HTTP_PORT: "0",
      FEEDS_HTTP_ADMIN_PORT: "0",
      FEEDS_HTTP_HOST: "127.0.0.1",
      FEEDS_HTTP_TOKENS_FILE: tokensFile,
      DATABASE_URL: h.database.url,
      NATS_URL: h.config.natsUrl,
      LOG_LEVEL: "error",
      ...env,
    },
    { names: h.names, ...overrides },
  );
  const door = await startFeedsHttp(config, { log });
  return {
    door,
    url: `${door.scheme}://127.0.0.1:${door.port}`,
    dir,
    tokensFile,
    tokens,
    close: () => door.close(),
  };
}

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  stderr: string;
}

/** Runs curl with `args` (the URL among them); never throws for an HTTP status. */
export function curl(args: string[], opts: { stdin?: Buffer | string; timeoutMs?: number } = {}): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      curlBin,
      ["-sS", "-D", "-", "--max-time", String(Math.ceil((opts.timeoutMs ?? 30_000) / 1000)), ...args],
      { encoding: "buffer", maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const out = stdout.toString("utf8");
        const blocks = out.split("\r\n\r\n");
        // Skip interim answers (100 Continue).
        let i = 0;
        while (/^HTTP\/\S+ 1\d\d/.test(blocks[i] ?? "") && i < blocks.length - 1) i++;
        const head = blocks[i] ?? "";
        const m = /^HTTP\/\S+ (\d+)/.exec(head);
        if (!m) {
          if (err) return reject(Object.assign(err, { stderr: stderr.toString() }));
          return reject(new Error(`no HTTP answer: ${out} ${stderr.toString()}`));
        }
        const headers: Record<string, string> = {};
        for (const l of head.split("\r\n").slice(1)) {
          const k = l.indexOf(":");
          if (k > 0) headers[l.slice(0, k).toLowerCase()] = l.slice(k + 1).trim();
        }
        const text = blocks.slice(i + 1).join("\r\n\r\n");
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {}
        resolve({ status: Number(m[1]), headers, text, json, stderr: stderr.toString() });
      },
    );
    if (opts.stdin !== undefined) child.stdin!.end(opts.stdin);
    else child.stdin!.end();
  });
}

/** curl arguments for a POST of `file` (a path) to `feed` with `token`. */
export const post = (door: Door, feed: string, token: string, file: string, type = "application/x-ndjson", extra: string[] = []) => [
  "-X",
  "POST",
  "-H",
  `Authorization: Bearer ${token}`,
  "-H",
  `Content-Type: ${type}`,
  "--data-binary",
  `@${file}`,
  ...extra,
  `${door.url}/v1/feeds/${feed}`,
];
