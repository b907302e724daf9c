import { domainMetrics } from "@pulse/contracts";
import type { Figures, Labels } from "./figures";

type DomainKey = keyof typeof domainMetrics;
const domainKeys = Object.keys(domainMetrics) as DomainKey[];

const escapeValue = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const number = (v: number) => (Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v));

/**
 * Renders the domain figures in the Prometheus text format (0.0.4), the same lines prom-client
 * writes for a gauge. Written here rather than through prom-client's gauges: some 11,000 series
 * (130 communes and wards) set, hashed and rendered by prom-client cost a quarter of a second of
 * the event loop per read, during which scrapes wait. The label text of a series is kept per
 * labels object: the zero-filled series share theirs from one read to the next (one map a day).
 */
export function createTextRenderer(): (f: Figures) => string {
  const labelText = new WeakMap<Labels, string>();
  const headers = new Map(
    domainKeys.map((k) => [
      k,
      `# HELP ${domainMetrics[k].name} ${escapeHelp(domainMetrics[k].help)}\n# TYPE ${domainMetrics[k].name} gauge\n`,
    ]),
  );
  return (f) => {
    const parts: string[] = [];
    for (const k of domainKeys) {
      const { name, labels: order } = domainMetrics[k];
      parts.push(headers.get(k)!);
      for (const { labels, value } of f[k].values()) {
        let text = labelText.get(labels);
        if (text === undefined) {
          const pairs = (order as readonly string[]).filter((l) => labels[l] !== undefined).map((l) => `${l}="${escapeValue(labels[l]!)}"`);
          text = pairs.length ? `${name}{${pairs.join(",")}} ` : `${name} `;
          labelText.set(labels, text);
        }
        parts.push(`${text}${number(value)}\n`);
      }
      parts.push("\n");
    }
    return parts.join("");
  };
}
