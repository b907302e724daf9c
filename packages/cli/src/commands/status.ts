import {
  consumerName,
  feedStateLabels,
  feeds,
  freshness,
  last30DaysStart,
  pipelineBehindJudge,
  todayStart,
  type Feed,
  type FeedState,
} from "@pulse/contracts";
import { readFigures } from "@pulse/db";
import { feedStream, jetstreamManager } from "@pulse/nats";
import { calendar, sources } from "@pulse/seeds";
import type { CliConfig } from "../config";
import { openDb, openNats } from "../connect";
import { formatTable, printJson, type CliIo } from "../io";
import { localTime } from "../time-args";

interface ConsumerRow {
  feed: Feed;
  pending: number;
  ack_pending: number;
  redelivered: number;
  behind: boolean;
}

/** Reads the gateway's `pulse_live_clients` from its admin /metrics; null when it does not answer. */
async function gatewayClients(url: string): Promise<{ clients: number } | { error: string }> {
  try {
    const r = await fetch(new URL("/metrics", url), { signal: AbortSignal.timeout(2_000) });
    if (!r.ok) return { error: `answered HTTP ${r.status}` };
    const text = await r.text();
    const lines = text.split("\n").filter((l) => /^pulse_live_clients(\{| )/.test(l));
    if (lines.length === 0) return { error: "its /metrics has no pulse_live_clients" };
    return { clients: lines.reduce((n, l) => n + Number(l.trim().split(/\s+/).at(-1)), 0) };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * `pulse status`: one screen of the pipeline, read where the exporter reads it (the same
 * `readFigures`, contracts' `freshness()`, the feed consumers' info). Exit 1 when NATS cannot
 * be read (the rest is still shown); the database is needed.
 */
export async function status(io: CliIo, config: CliConfig, o: { json?: boolean }): Promise<number> {
  const now = Date.now();
  const db = await openDb(config);
  let rows;
  try {
    rows = await readFigures(db.db, new Date(todayStart(now)), new Date(last30DaysStart(now)));
  } finally {
    await db.close();
  }
  let consumers: ConsumerRow[] | null = null;
  let natsError: string | null = null;
  try {
    const nc = await openNats(config, "pulse-cli-status");
    try {
      const read: ConsumerRow[] = [];
      const jsm = await jetstreamManager(nc, { timeout: 5_000 });
      const judge = pipelineBehindJudge({ behindPending: config.behindPending });
      for (const feed of feeds) {
        const info = await jsm.consumers
          .info(feedStream(config.names, feed), consumerName(feed, config.names.consumerPrefix))
          .catch((err: Error) => {
            if (/not found/i.test(err.message)) return null;
            throw err;
          });
        if (!info) continue;
        read.push({
          feed,
          pending: info.num_pending,
          ack_pending: info.num_ack_pending,
          redelivered: info.num_redelivered,
          // Contracts' rule, as the exporter and the gateway judge it. One reading: its first part
          // (a backlog); the second (no delivery progress for a while) needs watching over time,
          // which the exporter's pulse_feed_state does.
          behind: judge(feed, { pending: info.num_pending, deliveredSeq: info.delivered.stream_seq }, now),
        });
      }
      consumers = read;
    } finally {
      await nc.close();
    }
  } catch (err) {
    natsError = (err as Error).message;
  }
  const behind = new Set((consumers ?? []).filter((c) => c.behind).map((c) => c.feed));
  const received = new Map(rows.feeds.map((r) => [`${r.source}|${r.feed}`, r.last_received_at.getTime()]));
  const feedRows = sources.flatMap((s) =>
    Object.entries(s.feeds).map(([feed, f]) => {
      const last = received.get(`${s.id}|${feed}`) ?? null;
      const state: FeedState = freshness({
        now,
        lastReceivedAt: last,
        cadenceS: f!.cadence_s,
        officeHours: s.office_hours,
        calendar,
        pipelineBehind: behind.has(feed as Feed),
      });
      return {
        source: s.id,
        feed,
        state,
        last_received_at: last === null ? null : new Date(last).toISOString(),
        age_s: last === null ? null : Math.round((now - last) / 1000),
        cadence_s: f!.cadence_s,
      };
    }),
  );
  const gateway = await gatewayClients(config.liveAdminUrl);
  const out = {
    now: new Date(now).toISOString(),
    feeds: feedRows,
    consumers,
    nats_error: natsError,
    dead_letters_held: rows.deadLetters.sort((a, b) => (a.reason < b.reason ? -1 : 1)),
    gateway:
      "clients" in gateway
        ? { url: config.liveAdminUrl, clients: gateway.clients }
        : { url: config.liveAdminUrl, reachable: false, error: gateway.error },
  };
  if (o.json) {
    printJson(io, out);
    return natsError ? 1 : 0;
  }
  const w = (s: string) => io.stdout.write(s);
  w(`Pulse at ${localTime(now)}\n\nFeeds\n`);
  w(
    formatTable(
      ["source", "feed", "state", "last receipt", "age", "cadence"],
      feedRows.map((f) => [
        f.source,
        f.feed,
        `${f.state} (${feedStateLabels[f.state].vi})`,
        f.last_received_at ? localTime(new Date(f.last_received_at)) : "never",
        f.age_s === null ? "–" : `${f.age_s} s`,
        `${f.cadence_s} s`,
      ]),
    ),
  );
  w("\nIngest consumers\n");
  if (consumers)
    w(
      formatTable(
        ["feed", "pending", "unacked", "redelivered", "behind"],
        consumers.map((c) => [c.feed, c.pending, c.ack_pending, c.redelivered, c.behind ? "yes" : "no"]),
      ),
    );
  else w(`NATS: ${natsError}\n`);
  w("\nDead letters held\n");
  const held = out.dead_letters_held;
  if (held.length === 0) w("none\n");
  else
    w(
      formatTable(
        ["reason", "held"],
        [...held.map((d) => [d.reason, d.count] as [string, number]), ["total", held.reduce((n, d) => n + d.count, 0)]],
      ),
    );
  w(
    `\nLive gateway (${config.liveAdminUrl}): ${"clients" in gateway ? `${gateway.clients} client${gateway.clients === 1 ? "" : "s"}` : `gateway not reachable (${gateway.error}); start it, or set LIVE_ADMIN_URL`}\n`,
  );
  return natsError ? 1 : 0;
}
