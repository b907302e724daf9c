import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize, sep } from "node:path";
import { areas, baselines, calendar, kpiTargets, provinceCode, provinceHouseholds, sources } from "@pulse/seeds";

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

/** uPlot's dist folder, resolved through the package (never a path into node_modules written by hand). */
const uplotDist = dirname(createRequire(import.meta.url).resolve("uplot"));
const vendor: Record<string, string> = {
  "/vendor/uPlot.esm.js": join(uplotDist, "uPlot.esm.js"),
  "/vendor/uPlot.min.css": join(uplotDist, "uPlot.min.css"),
};

/** `/config.json`: what the wall needs to draw, from seeds. */
export function wallConfig(operatorName: string) {
  return {
    operator_name: operatorName,
    areas,
    sources,
    calendar,
    targets: kpiTargets,
    baselines,
    households: provinceHouseholds,
    province: provinceCode,
  };
}

export interface RoutesOptions {
  wallDir: string;
  operatorName: string;
  health: () => { ok: boolean; [k: string]: unknown };
}

/** Serves the wall's static files at /, /config.json, /vendor/uPlot.*, /healthz. GET and HEAD only. */
export function createRoutes(o: RoutesOptions) {
  const root = normalize(o.wallDir.endsWith(sep) ? o.wallDir : o.wallDir + sep);
  const configBody = JSON.stringify(wallConfig(o.operatorName));
  const file = async (res: ServerResponse, path: string, head: boolean, cache: string) => {
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8" });
      res.end("not found\n");
      return;
    }
    res.writeHead(200, {
      "content-type": types[extname(path)] ?? "application/octet-stream",
      "cache-control": cache,
      "content-length": body.length,
    });
    res.end(head ? undefined : body);
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" });
      res.end();
      return;
    }
    const head = req.method === "HEAD";
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      res.writeHead(400);
      res.end();
      return;
    }
    if (path === "/healthz") {
      const h = o.health();
      res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" });
      res.end(head ? undefined : JSON.stringify(h));
      return;
    }
    if (path === "/config.json") {
      res.writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-cache" });
      res.end(head ? undefined : configBody);
      return;
    }
    if (path === "/live") {
      res.writeHead(426, { "content-type": "text/plain; charset=utf-8", upgrade: "websocket" });
      res.end("/live is a WebSocket: connect with ws://host:port/live\n");
      return;
    }
    const v = vendor[path];
    if (v) return file(res, v, head, "public, max-age=86400");
    // The wall's own files; never outside its folder.
    const rel = path === "/" ? "index.html" : path.slice(1);
    const full = normalize(join(root, rel));
    if (!full.startsWith(root) || rel.includes("\0")) {
      res.writeHead(404);
      res.end();
      return;
    }
    return file(res, full, head, "no-cache");
  };
}
