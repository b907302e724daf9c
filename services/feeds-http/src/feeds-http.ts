/**
 * The HTTPS door: `POST /v1/feeds/{feed}` publishes each line of the body into the same JetStream
 * feed a NATS producer publishes to (`feeds.<feed>.<source>`, the source from the bearer token
 * alone) and answers with ingest's verdict per line, as `pulse publish` does. `GET /v1/status`
 * shows the token's source its feeds' freshness and last day's dead letters.
 *
 * Memory stays flat whatever the body: it is read as it streams (through gunzip when gzipped),
 * counted against FEEDS_HTTP_MAX_BYTES both compressed and decompressed, cut into records holding
 * one record at most, and at most FEEDS_HTTP_IN_FLIGHT lines of a request, and
 * FEEDS_HTTP_IN_FLIGHT_TOTAL of all requests together, are published and awaiting their verdict at
 * once: the next are read only once those are settled, so a fast sender waits on TCP, not in our
 * heap.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { Transform, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { createLogger, type Logger } from "@pulse/config";
import {
  decode,
  feeds,
  feedsHttpMetrics,
  freshness,
  msgId as msgIdOf,
  subjects,
  type DoorOutcome,
  type Feed,
  type Reason,
} from "@pulse/contracts";
import { createDb, readSourceStatus, type Db } from "@pulse/db";
import { createRegistry, makeMetrics, startMetricsServer, type MetricsServer } from "@pulse/metrics";
import { connectNats, type NatsConnection } from "@pulse/nats";
import { calendar, sources } from "@pulse/seeds";
import { FeedSettler, labelHeldDuplicates, recordKey, type RecordIdentity, type SendOutcome, type Settled } from "@pulse/settle";
import type { FeedsHttpConfig } from "./config";
import { HeldVersions } from "./held-versions";
import { InFlightBudget } from "./in-flight-budget";
import { LineResults, type LineResult } from "./line-results";
import { BodyShapeError, jsonArraySplitter, ndjsonSplitter, type RecordSplitter, type SplitRecord } from "./record-splitter";
import { RateLimiter } from "./rate-limiter";
import { TokenStore } from "./token-store";

export interface FeedsHttp {
  port: number;
  adminPort: number;
  /** "https" with FEEDS_HTTP_TLS_CERT/KEY, else "http". */
  scheme: "http" | "https";
  /** Tokens in force at start (0: every request is refused). */
  tokens: number;
  close(): Promise<void>;
}

const sourceById = new Map(sources.map((s) => [s.id, s]));
const ndjsonTypes = new Set(["application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/ndjson"]);
/** Bytes of payloads of one request held at once, besides the line count bound. */
const windowBytes = 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export async function startFeedsHttp(config: FeedsHttpConfig, deps: { log?: Logger; db?: Db } = {}): Promise<FeedsHttp> {
  const log = deps.log ?? createLogger("feeds-http", config.logLevel);
  const registry = createRegistry("feeds_http");
  const m = makeMetrics(registry, feedsHttpMetrics);
  const tokens = new TokenStore(config.tokensFile, log);
  const limiter = new RateLimiter(config.rate);
  const ownDb =
    !deps.db && config.databaseUrl
      ? createDb({ url: config.databaseUrl, poolMax: 4, applicationName: "pulse-feeds-http", queryTimeoutMs: 10_000 })
      : null;
  const db = deps.db ?? ownDb;
  const heldVersions = db ? new HeldVersions(db) : null;
  const budget = new InFlightBudget(config.inFlightTotal, config.inFlightTotalBytes);

  const nc: NatsConnection = await connectNats(config.natsUrl, "pulse-feeds-http", { ...config.natsAuth, log, asyncTraces: false });
  let natsUp = true;
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect") natsUp = false;
      else if (s.type === "reconnect") natsUp = true;
    }
  })().catch(() => {});
  const settler = new FeedSettler(nc, {
    names: config.names,
    db,
    timeoutMs: config.settleMs,
    behindPending: config.behindPending,
    stallMs: config.stallMs,
  });
  await settler.start();
  m.inFlight.reset();
  const inFlightGauge = setInterval(() => m.inFlight.set(settler.pending), 1_000);
  inFlightGauge.unref();
  // The broker's largest message, less room for the headers: a longer line cannot be published.
  const maxRecord = Math.max(1024, (nc.info?.max_payload ?? 1024 * 1024) - 1024);

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body) + "\n";
    res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };
  /** The answer of a POST, written as it is serialised (chunked): 80,000 lines are 4 MB of JSON. */
  const answer = async (
    res: ServerResponse,
    status: number,
    results: LineResults,
    head: Record<string, unknown>,
    headers: Record<string, string>,
  ) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    for (const piece of results.chunks(head)) {
      if (res.destroyed) return;
      if (!res.write(piece))
        await new Promise<void>((resolve) => {
          const go = () => {
            res.off("drain", go);
            res.off("close", go);
            resolve();
          };
          res.on("drain", go);
          res.on("close", go);
        });
    }
    res.end();
  };
  const fail = (res: ServerResponse, route: string, e: HttpError) => {
    m.requests.inc({ route, code: String(e.status) });
    // The body is not read: close the connection rather than drain what may be megabytes.
    send(res, e.status, { error: e.message }, { connection: "close", ...e.headers });
  };

  const authorize = (req: IncomingMessage): string => {
    if (!config.tokensFile) {
      throw new HttpError(401, "this door has no tokens (FEEDS_HTTP_TOKENS_FILE is not set): it refuses every request", {
        "www-authenticate": 'Bearer realm="pulse"',
      });
    }
    const m1 = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
    if (!m1) throw new HttpError(401, "send Authorization: Bearer <token>", { "www-authenticate": 'Bearer realm="pulse"' });
    const source = tokens.sourceOf(m1[1]!);
    if (!source) throw new HttpError(401, "unknown token", { "www-authenticate": 'Bearer realm="pulse", error="invalid_token"' });
    return source;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const feedPath = /^\/v1\/feeds\/([^/]+)\/?$/.exec(path);
    if (feedPath) {
      if (req.method !== "POST") return fail(res, "post", new HttpError(405, "use POST", { allow: "POST" }));
      const started = performance.now();
      try {
        await postRecords(req, res, decodeURIComponent(feedPath[1]!));
      } catch (err) {
        if (err instanceof HttpError) return fail(res, "post", err);
        throw err;
      } finally {
        m.duration.observe((performance.now() - started) / 1000);
      }
      return;
    }
    if (path === "/v1/status" || path === "/v1/status/") {
      if (req.method !== "GET" && req.method !== "HEAD") return fail(res, "status", new HttpError(405, "use GET", { allow: "GET" }));
      try {
        return await status(req, res);
      } catch (err) {
        if (err instanceof HttpError) return fail(res, "status", err);
        throw err;
      }
    }
    fail(res, "other", new HttpError(404, "not found: POST /v1/feeds/{feed} or GET /v1/status (docs/feeds-http.openapi.yaml)"));
  };

  const status = async (req: IncomingMessage, res: ServerResponse) => {
    const source = authorize(req);
    const s = sourceById.get(source)!;
    if (!db) throw new HttpError(503, "this door has no database (DATABASE_URL): status cannot be read", { "retry-after": "60" });
    const now = Date.now();
    const since = new Date(now - 86_400_000);
    let rows;
    try {
      rows = await readSourceStatus(db.db, source, since);
    } catch (err) {
      log.warn("status: the database cannot be read", { error: (err as Error).message });
      throw new HttpError(503, "the database cannot be read just now; POST still works", { "retry-after": "10" });
    }
    const received = new Map(rows.feeds.map((f) => [f.feed, f]));
    m.requests.inc({ route: "status", code: "200" });
    send(res, 200, {
      source,
      now: new Date(now).toISOString(),
      feeds: Object.entries(s.feeds).map(([feed, f]) => {
        const r = received.get(feed);
        const last = r ? r.last_received_at.getTime() : null;
        return {
          feed,
          state: freshness({
            now,
            lastReceivedAt: last,
            cadenceS: f!.cadence_s,
            officeHours: s.office_hours,
            calendar,
            pipelineBehind: settler.behind(feed as Feed),
          }),
          last_received_at: last === null ? null : new Date(last).toISOString(),
          age_s: last === null ? null : Math.round((now - last) / 1000),
          cadence_s: f!.cadence_s,
          records: r?.events ?? 0,
        };
      }),
      dead_letters_last_day: Object.fromEntries(rows.deadLetters.map((d) => [d.reason, d.count])),
      dead_letters_since: since.toISOString(),
    });
  };

  const postRecords = async (req: IncomingMessage, res: ServerResponse, feedName: string) => {
    const source = authorize(req);
    const own = sourceById.get(source)!;
    if (!(feeds as readonly string[]).includes(feedName)) {
      throw new HttpError(
        404,
        `no feed ${JSON.stringify(feedName)}: the feeds are ${feeds.join(", ")} (yours: ${Object.keys(own.feeds).join(", ")})`,
      );
    }
    const feed = feedName as Feed;
    if (!own.feeds[feed]) {
      throw new HttpError(403, `${source} is not registered for ${feed}: its feeds are ${Object.keys(own.feeds).join(", ")}`);
    }
    const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
    const kind = ndjsonTypes.has(type) ? "ndjson" : type === "application/json" ? "json" : null;
    if (!kind)
      throw new HttpError(
        415,
        `Content-Type ${JSON.stringify(type)}: send application/x-ndjson (one record a line) or application/json (an array)`,
      );
    const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
    if (encoding !== "identity" && encoding !== "gzip")
      throw new HttpError(415, `Content-Encoding ${JSON.stringify(encoding)}: send gzip or none`);
    const length = req.headers["content-length"];
    const chunked = /\bchunked\b/i.test(req.headers["transfer-encoding"] ?? "");
    if (length === undefined && !chunked) throw new HttpError(411, "send Content-Length, or Transfer-Encoding: chunked");
    if (length !== undefined && Number(length) > config.maxBytes) {
      throw new HttpError(413, `the body is ${length} bytes; at most ${config.maxBytes} (FEEDS_HTTP_MAX_BYTES): split it`);
    }
    const wait = limiter.retryAfter(source);
    if (wait > 0)
      throw new HttpError(429, `${source} is over ${config.rate} lines per second (FEEDS_HTTP_RATE): retry after ${wait} s`, {
        "retry-after": String(wait),
      });
    if (!natsUp || nc.isClosed()) throw new HttpError(503, "NATS is unreachable: nothing can be stored just now", { "retry-after": "5" });
    if (settler.behind(feed)) throw new HttpError(503, `ingest is behind on ${feed}: retry shortly`, { "retry-after": "10" });

    const subject = subjects.feed(feed, source);
    const deadline = Date.now() + config.settleMs;
    const results = new LineResults();
    let notSentFrom: number | null = null;

    type Prepared = {
      line: number;
      payload: Uint8Array;
      msgId: string;
      key: RecordIdentity | null;
      local: { reason: Reason; detail: string } | null;
    };
    let window: Prepared[] = [];
    let held = 0;

    const prepare = (rec: SplitRecord): Prepared | null => {
      if ("tooLarge" in rec) {
        const r = {
          line: rec.line,
          outcome: "refused",
          reason: "too_large",
          detail: `over ${maxRecord} bytes, the largest message the broker takes: not sent`,
        } as const;
        results.push(r);
        m.lines.inc({ feed, outcome: r.outcome });
        return null;
      }
      const d = decode(
        { subject, payload: rec.payload, receivedMs: Date.now() },
        { maxBytes: config.recordMaxBytes, maxFutureMs: config.maxFutureMs },
      );
      if (d.ok) {
        const key = { source: d.value.source, id: d.value.id, revision: d.value.revision };
        return { line: rec.line, payload: rec.payload, msgId: msgIdOf(key.source, key.id, key.revision), key, local: null };
      }
      // Ingest will refuse it too. Its own Msg-Id, so that the corrected line (same id and
      // revision, a new body) is not dropped by JetStream as a repeat of this one.
      const key = d.id !== null ? { source, id: d.id, revision: d.revision ?? 0 } : null;
      const msgId = `refused:${createHash("sha256").update(rec.payload).digest("hex")}`;
      return { line: rec.line, payload: rec.payload, msgId, key, local: { reason: d.reason, detail: d.detail } };
    };

    /** Publishes one group of lines and records each one's verdict once all are settled. */
    const settleGroup = async (batch: Prepared[]) => {
      const tally: Partial<Record<DoorOutcome, number>> = {};
      const put = (r: LineResult, seq?: number) => {
        results.push(r, seq);
        tally[r.outcome] = (tally[r.outcome] ?? 0) + 1;
      };
      limiter.take(source, batch.length);
      if (notSentFrom !== null || !natsUp) {
        notSentFrom ??= batch[0]!.line;
        const detail = `not sent: NATS failed at line ${notSentFrom} of this request; send it again (a line already stored is kept once)`;
        for (const p of batch) put({ line: p.line, ...(p.key ? { id: p.key.id } : {}), outcome: "not_sent", detail });
      } else {
        // What ingest held before this group was sent: a revision at or below it changes nothing.
        const keys = new Map<number, RecordIdentity>();
        batch.forEach((p, i) => p.key && !p.local && keys.set(i, p.key));
        let stored = new Map<string, { revision: number }>();
        let storedNote = "";
        if (heldVersions && keys.size > 0) {
          try {
            stored = await heldVersions.read([...keys.values()]);
          } catch (err) {
            storedNote = ` (the database could not be read: ${(err as Error).message}; a repeat of a stored record also looks like this)`;
          }
        }
        const outcomes: SendOutcome[] = await Promise.all(
          batch.map((p) => settler.send({ subject, payload: p.payload, msgId: p.msgId, until: deadline })),
        );
        const accepted: Settled[] = [];
        outcomes.forEach((o, i) => {
          if (o.status === "accepted") accepted.push({ ...o, status: "accepted", tag: i });
        });
        labelHeldDuplicates(accepted, keys, stored);
        for (const a of accepted) outcomes[a.tag] = a;
        const acceptedDetail = storedNote ? { detail: `settled by ingest${storedNote}` } : {};
        outcomes.forEach((o, i) => {
          const p = batch[i]!;
          const id = p.key ? { id: p.key.id } : {};
          if (o.status === "not_sent") notSentFrom = Math.min(notSentFrom ?? p.line, p.line);
          if (p.local && o.status === "duplicate") {
            // JetStream holds this very line from an earlier request: ingest refused it then.
            put({ line: p.line, ...id, outcome: "refused", reason: p.local.reason, detail: p.local.detail });
          } else if (o.status === "accepted") {
            put({ line: p.line, ...id, outcome: "accepted", ...acceptedDetail });
          } else {
            put(
              {
                line: p.line,
                ...id,
                outcome: o.status,
                ...(o.reason ? { reason: o.reason } : {}),
                ...(o.detail ? { detail: o.detail } : {}),
              },
              o.seq,
            );
          }
        });
      }
      for (const [outcome, n] of Object.entries(tally)) m.lines.inc({ feed, outcome }, n);
    };

    // A sliding window: groups of lines go out while earlier ones still wait for ingest, at most
    // FEEDS_HTTP_IN_FLIGHT lines and `windowBytes` of payload at once, and the body is read on only
    // when there is room. A line whose (source, id) is still in flight in an earlier group waits
    // for the groups in flight to settle first, so that its group's read of what ingest holds
    // already sees the earlier one (ingest's answer to a repeat depends on order).
    const groupLines = Math.max(1, Math.ceil(config.inFlight / 4));
    const groupBytes = windowBytes / 4;
    const running = new Set<Promise<void>>();
    const flying = new Map<string, number>();
    let flyingLines = 0;
    let flyingBytes = 0;
    let groupError: unknown = null;
    const launch = async () => {
      const batch = window;
      const bytes = held;
      window = [];
      held = 0;
      if (batch.length === 0) return;
      // The process-wide bound: while other requests hold it, this one reads no further.
      await budget.take(batch.length, bytes);
      const keys = batch.flatMap((p) => (p.key ? [recordKey(p.key.source, p.key.id)] : []));
      for (const k of keys) flying.set(k, (flying.get(k) ?? 0) + 1);
      flyingLines += batch.length;
      flyingBytes += bytes;
      const done: Promise<void> = settleGroup(batch)
        .catch((err: unknown) => void (groupError ??= err))
        .finally(() => {
          for (const k of keys) {
            const n = flying.get(k)! - 1;
            if (n === 0) flying.delete(k);
            else flying.set(k, n);
          }
          flyingLines -= batch.length;
          flyingBytes -= bytes;
          budget.give(batch.length, bytes);
          running.delete(done);
        });
      running.add(done);
    };
    const room = async () => {
      while (running.size > 0 && (flyingLines + window.length >= config.inFlight || flyingBytes + held >= windowBytes))
        await Promise.race(running);
    };
    const drain = async () => {
      while (running.size > 0) await Promise.race(running);
    };
    const take = async (rec: SplitRecord) => {
      const p = prepare(rec);
      if (!p) return;
      if (p.key && flying.has(recordKey(p.key.source, p.key.id))) await drain();
      window.push(p);
      held += p.payload.length;
      if (window.length >= groupLines || held >= groupBytes) {
        await launch();
        await room();
      }
    };

    const splitter: RecordSplitter = kind === "ndjson" ? ndjsonSplitter(maxRecord) : jsonArraySplitter(maxRecord);
    let cut: HttpError | null = null;
    try {
      for await (const chunk of readBody(req, encoding === "gzip", config.maxBytes, config.bodyTimeoutMs)) {
        for (const rec of splitter.push(chunk)) await take(rec);
        // Send what is read rather than wait on the sender for a full group.
        await launch();
        await room();
      }
      for (const rec of splitter.end()) await take(rec);
    } catch (err) {
      if (err instanceof BodyShapeError) cut = new HttpError(400, err.message);
      else if (err instanceof HttpError) cut = err;
      else {
        // The sender went away: no one to answer. What was published stays (a resend is safe).
        log.warn(`${source} ${feed}: the body broke off`, { error: (err as Error).message });
        window = [];
        req.destroy();
        return;
      }
    }
    await launch();
    await drain();
    if (groupError) throw groupError;
    if (cut) {
      m.requests.inc({ route: "post", code: String(cut.status) });
      const lines = results.size ? ` Lines up to ${results.lastLine} were read and settled as listed; resending them is safe.` : "";
      await answer(res, cut.status, results, { error: cut.message + lines }, { connection: "close", ...cut.headers });
      // Read and drop what the sender is still sending (a bounded while), so that closing does
      // not reset the connection before it has read the answer.
      req.resume();
      setTimeout(() => req.destroy(), 2_000).unref();
      return;
    }
    m.requests.inc({ route: "post", code: "200" });
    await answer(res, 200, results, {}, {});
  };

  const serverOptions = {
    headersTimeout: config.headerTimeoutMs,
    // The body's own bound is ours (time spent waiting on the sender, not on ingest): see readBody.
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(1_000, Math.max(100, Math.floor(config.headerTimeoutMs / 4))),
    keepAliveTimeout: 5_000,
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err) => {
      log.error("request failed", { error: (err as Error).message });
      if (!res.headersSent) send(res, 500, { error: "internal error" }, { connection: "close" });
      else res.destroy();
    });
  };
  const server: Server = config.tlsCert
    ? createHttpsServer({ ...serverOptions, cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey!) }, onRequest)
    : createHttpServer(serverOptions, onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const scheme = config.tlsCert ? "https" : "http";

  let admin: MetricsServer;
  try {
    admin = await startMetricsServer({
      port: config.adminPort,
      host: config.host,
      registry,
      health: () => ({
        ok: natsUp && !nc.isClosed(),
        nats: natsUp ? "connected" : "unreachable",
        database: db ? "configured" : "none",
        tokens: tokens.size,
        tls: scheme === "https",
      }),
    });
  } catch (err) {
    server.close();
    throw err;
  }

  const n = tokens.size;
  log.info(`POST ${scheme}://${config.host}:${port}/v1/feeds/{feed}, admin :${admin.port}; ${n} token(s)`);
  if (scheme === "http")
    log.warn(
      "plain HTTP (no FEEDS_HTTP_TLS_CERT/KEY): put TLS in front of it (infra/feeds-http/Caddyfile) before any producer sends a token over a network",
    );
  if (!config.tokensFile)
    log.warn("FEEDS_HTTP_TOKENS_FILE is not set: the door refuses every request (pnpm pulse token new --source <id>)");

  return {
    port,
    adminPort: admin.port,
    scheme,
    tokens: n,
    async close() {
      clearInterval(inFlightGauge);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
      await admin.close();
      await settler.close();
      await nc.drain().catch(() => nc.close());
      await ownDb?.close();
    },
  };
}

/**
 * The body as it streams, decompressed when gzipped; throws HttpError 413 past `maxBytes`
 * (compressed or decompressed: a gzip bomb stops there, 16 KiB of inflated output at a time) and
 * 408 once the sender has kept us waiting `budgetMs` in all. Time spent on our side (publishing,
 * waiting for ingest) does not count: the next chunk is asked for only when we are ready.
 */
async function* readBody(req: IncomingMessage, gzip: boolean, maxBytes: number, budgetMs: number): AsyncGenerator<Buffer> {
  let raw = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      raw += chunk.length;
      if (raw > maxBytes) cb(new HttpError(413, `the body passed ${maxBytes} bytes (FEEDS_HTTP_MAX_BYTES): split it.`));
      else cb(null, chunk);
    },
  });
  // Piped by hand, not with stream.pipeline: that would destroy the request (and its socket) on
  // our 413 or 408, and the sender would never read why.
  req.on("error", (e) => counter.destroy(e));
  req.pipe(counter);
  let out: Readable = counter;
  if (gzip) {
    const gunzip = createGunzip();
    counter.on("error", (e) => gunzip.destroy(e));
    counter.pipe(gunzip);
    out = gunzip;
  }
  const it = out[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let waited = 0;
  let inflated = 0;
  try {
    for (;;) {
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([
        it.next(),
        new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), Math.max(1, budgetMs - waited)))),
      ]).finally(() => clearTimeout(timer));
      waited += performance.now() - t0;
      if (next === "timeout")
        throw new HttpError(408, `the body did not arrive within ${budgetMs} ms of waiting (FEEDS_HTTP_BODY_TIMEOUT_MS).`);
      if (next.done) return;
      if (gzip) {
        inflated += next.value.length;
        if (inflated > maxBytes) throw new HttpError(413, `the body inflates past ${maxBytes} bytes (FEEDS_HTTP_MAX_BYTES): split it.`);
      }
      yield next.value;
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    const e = err as { code?: string; message: string };
    if (e.code === "Z_DATA_ERROR" || e.code === "Z_BUF_ERROR") throw new HttpError(400, `the gzip body is corrupt: ${e.message}.`);
    throw err;
  } finally {
    req.unpipe(counter);
    out.destroy();
  }
}
