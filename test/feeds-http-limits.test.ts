/**
 * The door's limits with real senders: TLS with a self-signed certificate made at test time, a
 * body and a gzip bomb past the limit refused while memory stays flat, slow senders cut off.
 */
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, openSync, writeSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { createGzip } from "node:zlib";
import { createWriteStream } from "node:fs";
import { ingestHarness, type Harness } from "@pulse/ingest/test-harness";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl, post, startDoor, type Door } from "./support/feeds-http";

const sub = (id: string, count: number) =>
  JSON.stringify({ v: 1, id, source: "viettel", ts: "2026-11-26T09:15:00+07:00", area: "16681", data: { service: "mobile", count } });

let h: Harness;
let d: Door;
beforeAll(async () => {
  h = await ingestHarness("feeds_http_limits");
  d = await startDoor(h, ["viettel"], {
    FEEDS_HTTP_MAX_BYTES: String(1024 * 1024),
    FEEDS_HTTP_HEADER_TIMEOUT_MS: "1000",
    FEEDS_HTTP_BODY_TIMEOUT_MS: "1500",
  });
});
afterAll(async () => {
  await d?.close();
  await h?.close();
});

/** Raw bytes to the door, written `gapMs` apart one piece at a time; resolves with what came back once it closes. */
function trickle(port: number, pieces: string[], gapMs: number): Promise<{ answer: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let answer = "";
    let i = 0;
    const timer = setInterval(() => {
      if (i < pieces.length && !s.destroyed) s.write(pieces[i++]!);
    }, gapMs);
    s.on("data", (b) => (answer += b.toString()));
    s.on("error", () => {});
    s.on("close", () => {
      clearInterval(timer);
      resolve({ answer, ms: Date.now() - t0 });
    });
  });
}

describe("limits", () => {
  it("a body past FEEDS_HTTP_MAX_BYTES, streamed with no length, is cut at the limit with memory flat", async () => {
    const path = join(d.dir, "big.ndjson");
    const fd = openSync(path, "w");
    writeSync(fd, sub("big-1", 1) + "\n");
    const blank = Buffer.alloc(1024 * 1024, 0x0a);
    for (let i = 0; i < 64; i++) writeSync(fd, blank);
    closeSync(fd);
    const rss0 = process.memoryUsage().rss;
    const r = await curl([
      ...post(d, "subscribers", d.tokens.viettel!, path).filter((a) => a !== "--data-binary" && a !== `@${path}`),
      "-T",
      path,
      "-H",
      "Transfer-Encoding: chunked",
    ]);
    const grew = process.memoryUsage().rss - rss0;
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(/passed 1048576 bytes \(FEEDS_HTTP_MAX_BYTES\)/);
    // What was read before the limit is settled and told (resending it is safe).
    expect(r.json.results).toEqual([{ line: 1, id: "big-1", outcome: "accepted" }]);
    expect(grew).toBeLessThan(48 * 1024 * 1024);
  });

  it("a gzip bomb stops at the limit as it inflates, with memory flat", async () => {
    const path = join(d.dir, "bomb.gz");
    await new Promise<void>((resolve, reject) => {
      const gz = createGzip({ level: 9 });
      const out = createWriteStream(path);
      gz.pipe(out).on("finish", resolve).on("error", reject);
      const zeros = Buffer.alloc(1024 * 1024, 0x20);
      let left = 256;
      const write = () => {
        while (left > 0) {
          left--;
          if (!gz.write(zeros)) return void gz.once("drain", write);
        }
        gz.end();
      };
      write();
    });
    const rss0 = process.memoryUsage().rss;
    const r = await curl(post(d, "subscribers", d.tokens.viettel!, path, "application/x-ndjson", ["-H", "Content-Encoding: gzip"]));
    const grew = process.memoryUsage().rss - rss0;
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(/inflates past 1048576 bytes/);
    expect(grew).toBeLessThan(48 * 1024 * 1024);
  });

  it("cuts a slow-loris sender: headers a byte at a time, then a body a byte at a time", async () => {
    const head = `POST /v1/feeds/subscribers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.tokens.viettel}\r\n`;
    const slowHead = await trickle(d.door.port, head.split(""), 100);
    expect(slowHead.ms).toBeLessThan(4_000);
    expect(slowHead.answer === "" || /^HTTP\/1.1 408/.test(slowHead.answer)).toBe(true);

    const line = sub("slow-1", 1) + "\n";
    const fullHead = `${head}Content-Type: application/x-ndjson\r\nContent-Length: ${line.length}\r\n\r\n`;
    const slowBody = await trickle(d.door.port, [fullHead, ...line.split("")], 200);
    expect(slowBody.answer).toMatch(/^HTTP\/1.1 408/);
    expect(slowBody.ms).toBeLessThan(5_000);
  });
});

describe("TLS", () => {
  const haveOpenssl = existsSync("/usr/bin/openssl");
  it.skipIf(!haveOpenssl)("serves HTTPS with FEEDS_HTTP_TLS_CERT/KEY (a self-signed certificate made now)", async () => {
    const cert = join(d.dir, "cert.pem");
    const key = join(d.dir, "key.pem");
    execFileSync(
      "/usr/bin/openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=pulse-test",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    const tls = await startDoor(h, ["viettel"], { FEEDS_HTTP_TLS_CERT: cert, FEEDS_HTTP_TLS_KEY: key });
    try {
      expect(tls.url).toMatch(/^https:/);
      const path = join(d.dir, "tls.ndjson");
      const { writeFileSync } = await import("node:fs");
      writeFileSync(path, sub("tls-1", 1));
      const ok = await curl([...post(tls, "subscribers", tls.tokens.viettel!, path), "--cacert", cert]);
      expect(ok.status).toBe(200);
      expect(ok.json.results).toEqual([{ line: 1, id: "tls-1", outcome: "accepted" }]);
      // Without trusting the certificate, curl refuses to send the token at all.
      await expect(curl(post(tls, "subscribers", tls.tokens.viettel!, path))).rejects.toThrow();
    } finally {
      await tls.close();
    }
  });
});
