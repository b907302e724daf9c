/**
 * The soak's picture: memory (RSS and heap per process) and latency (p99 publish-to-commit and
 * commit-to-client) over time, drawn as SVG and rendered to PNG by Debian's chromium through
 * playwright-core. Also runnable alone on a saved series: `tsx bench/support/soak-plot.ts samples.json out.png`.
 */
import { readFileSync } from "node:fs";
import { launchChromium } from "../../test/support/chromium";

export interface PlotSeries {
  label: string;
  color: string;
  /** [seconds since start, value] */
  points: [number, number][];
  dashed?: boolean;
}

export interface PlotPanel {
  title: string;
  unit: string;
  series: PlotSeries[];
  /** Vertical markers: [seconds, label]. */
  marks?: [number, string][];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function panelSvg(p: PlotPanel, w: number, h: number): string {
  const m = { l: 70, r: 190, t: 30, b: 40 };
  const xs = p.series.flatMap((s) => s.points.map((q) => q[0]));
  const ys = p.series.flatMap((s) => s.points.map((q) => q[1])).filter(Number.isFinite);
  const xMax = Math.max(1, ...xs);
  const yMax = niceMax(Math.max(0, ...ys) * 1.05);
  const X = (x: number) => m.l + (x / xMax) * (w - m.l - m.r);
  const Y = (y: number) => h - m.b - (y / yMax) * (h - m.t - m.b);
  const out: string[] = [`<text x="${m.l}" y="18" font-size="15" font-weight="600">${esc(p.title)}</text>`];
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5;
    out.push(`<line x1="${m.l}" x2="${w - m.r}" y1="${Y(y)}" y2="${Y(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${m.l - 6}" y="${Y(y) + 4}" font-size="11" text-anchor="end">${+y.toPrecision(3)} ${esc(p.unit)}</text>`);
  }
  const xStep = niceMax(xMax / 8);
  for (let x = 0; x <= xMax; x += xStep) {
    out.push(`<line x1="${X(x)}" x2="${X(x)}" y1="${m.t}" y2="${h - m.b}" stroke="#eee"/>`);
    out.push(`<text x="${X(x)}" y="${h - m.b + 16}" font-size="11" text-anchor="middle">${(x / 60).toFixed(x < 600 ? 1 : 0)} min</text>`);
  }
  for (const [x, label] of p.marks ?? []) {
    out.push(`<line x1="${X(x)}" x2="${X(x)}" y1="${m.t}" y2="${h - m.b}" stroke="#999" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${X(x) + 4}" y="${m.t + 12}" font-size="11" fill="#666">${esc(label)}</text>`);
  }
  p.series.forEach((s, i) => {
    const pts = s.points.filter((q) => Number.isFinite(q[1]));
    if (pts.length > 0) {
      const d = pts.map((q, k) => `${k === 0 ? "M" : "L"}${X(q[0]).toFixed(1)},${Y(q[1]).toFixed(1)}`).join(" ");
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    }
    const ly = m.t + 10 + i * 18;
    out.push(
      `<line x1="${w - m.r + 12}" x2="${w - m.r + 36}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ""}/>`,
    );
    out.push(`<text x="${w - m.r + 42}" y="${ly + 4}" font-size="12">${esc(s.label)}</text>`);
  });
  out.push(`<rect x="${m.l}" y="${m.t}" width="${w - m.l - m.r}" height="${h - m.t - m.b}" fill="none" stroke="#888"/>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif">${out.join("")}</svg>`;
}

/** Renders the panels, one under another, with a title line, to a PNG at `path`. */
export async function renderPlot(title: string, panels: PlotPanel[], path: string): Promise<void> {
  const w = 1100;
  const h = 330;
  const html = `<!doctype html><html><body style="margin:0;background:#fff;padding:10px 10px 0 10px;font-family:sans-serif">
<div style="font-size:16px;font-weight:700;margin:0 0 6px 8px">${esc(title)}</div>
${panels.map((p) => panelSvg(p, w, h)).join("<br>")}</body></html>`;
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: w + 20, height: panels.length * (h + 4) + 40 } });
    await page.setContent(html);
    await page.screenshot({ path, fullPage: true });
  } finally {
    await browser.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, out] = process.argv.slice(2);
  const saved = JSON.parse(readFileSync(file!, "utf8")) as { title: string; panels: PlotPanel[] };
  await renderPlot(saved.title, saved.panels, out ?? "bench/soak.png");
}
