import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, normalize, sep } from "node:path";
import {
  areas,
  baselines,
  calendar,
  kpiTargets,
  provinceCode,
  provinceHouseholds,
  sources,
  type Calendar,
  type KpiTarget,
  type Source,
} from "@pulse/seeds";
import type { MapOfDay } from "./map-of-day";

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

/** One area version as `/config.json` lists it. */
export interface WallArea {
  code: string;
  name_vi: string;
  name_en: string;
  level: string;
  parent: string | null;
  /** Communes: the district in force on 2025-06-30 that held it; null for others. */
  former_district: string | null;
  /** Communes: phuong or xa. */
  type: string | null;
  valid_from: string | null;
  valid_to: string | null;
}

/** What `/config.json` holds. */
export interface WallConfigBody {
  operator_name: string;
  /** Every area version, dated (an area is (code, valid_from): codes are reused). */
  areas: readonly WallArea[];
  /** The map in force on the gateway's day: its id, the areas where current figures are counted, the former districts with their communes. */
  today: { day: string; map: string; leaves: string[]; former_districts: { code: string; communes: string[] }[] };
  sources: readonly Source[];
  calendar: Calendar;
  targets: Readonly<Record<string, KpiTarget>>;
  baselines: Readonly<Record<string, number>>;
  /** The province's households: the one sourced denominator of FTTH coverage (no figure per commune or district). */
  households: number;
  province: string;
  /** Hash of all the above: heartbeats carry the current one, and a wall whose hash differs reloads. */
  hash: string;
}

let cached: { key: string; body: WallConfigBody; text: string } | null = null;

/** `/config.json`: what the wall needs to draw, from seeds and the map in force on `today`'s day. */
export function wallConfig(operatorName: string, today: MapOfDay): WallConfigBody {
  const key = `${operatorName}\u0000${today.id}\u0000${today.day}`;
  if (cached?.key === key) return cached.body;
  const base = {
    operator_name: operatorName,
    areas: areas.map((a): WallArea => ({
      code: a.code,
      name_vi: a.name_vi,
      name_en: a.name_en,
      level: a.level,
      parent: a.parent,
      former_district: a.former_district ?? null,
      type: a.type ?? null,
      valid_from: a.valid_from,
      valid_to: a.valid_to,
    })),
    today: {
      day: today.day,
      map: today.id,
      leaves: [...today.leaves.keys()],
      former_districts: today.formerDistricts.map((d) => ({ code: d.district.code, communes: d.communes.map((c) => c.code) })),
    },
    sources,
    calendar,
    targets: kpiTargets,
    baselines,
    households: provinceHouseholds,
    province: provinceCode,
  };
  // The day itself is not in the hash: only a change of the map (or of seeds) reloads a wall.
  const { today: t, ...rest } = base;
  const hash = createHash("sha1")
    .update(JSON.stringify({ ...rest, map: t.map }))
    .digest("hex")
    .slice(0, 16);
  const body = { ...base, hash };
  cached = { key, body, text: JSON.stringify(body) };
  return body;
}

/** The JSON text of `body` (made once per body). */
const configText = (body: WallConfigBody) => (cached?.body === body ? cached.text : JSON.stringify(body));

export interface RoutesOptions {
  wallDir: string;
  /** The wall's configuration now (the map in force on the gateway's day). */
  config: () => WallConfigBody;
  health: () => { ok: boolean; [k: string]: unknown };
}

/** Serves the wall's static files at /, /config.json, /vendor/uPlot.*, /healthz. GET and HEAD only. */
export function createRoutes(o: RoutesOptions) {
  const root = normalize(o.wallDir.endsWith(sep) ? o.wallDir : o.wallDir + sep);
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
      res.end(head ? undefined : configText(o.config()));
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
