import { btsStatuses, type FeedEvent, type LiveEntry, type LiveMetric, type Outcome, type Reason } from "@pulse/contracts";
import {
  classifyDbError,
  extendStationRuns,
  insertDeadLetters,
  recomputeBtsStations,
  recomputeSubscriberGauges,
  stationCounts,
  stationStates,
  storedVersions,
  upsertBtsStations,
  upsertEgovCounts,
  upsertEsignCounts,
  upsertEvents,
  upsertFeedStatus,
  upsertSubscriberGauges,
  type ChangeInput,
  type Executor,
  type EgovContribution,
  type EsignContribution,
  type EventChange,
  type GaugeKey,
  type StationGroup,
  type StationKey,
  type StationValue,
} from "@pulse/db";

/** One message of a batch, decoded (or refused) before the transaction. */
export interface BatchItem {
  /** Canonical subject (`feeds.<feed>.<source>`). */
  subject: string;
  /** The stream the message is in. */
  stream: string;
  streamSeq: number;
  /** Broker receipt time, epoch ms. */
  receivedMs: number;
  payload: Uint8Array;
  /** The event, or why it is refused. */
  event: FeedEvent | null;
  reject: { reason: Reason; detail: string; id: string | null; revision: number | null } | null;
}

export interface ItemResult {
  outcome: Outcome;
  /** Set when dead-lettered. */
  reason?: Reason;
  detail?: string;
  /** False when the dead letter was already stored (a redelivery): nothing more to tell. */
  newDeadLetter?: boolean;
  /**
   * The database would not store this message's dead letter at all: leave it unsettled, to come
   * back and, after its max deliveries, be dead-lettered from the advisory.
   */
  unsettled?: boolean;
}

export interface BatchResult {
  results: ItemResult[];
  /** Change-log rows written (0 when no figure changed). */
  changes: number;
}

/** What `applyBatch` did, and the change-log rows for its caller to write with COMMIT. */
export interface AppliedBatch {
  results: ItemResult[];
  log: ChangeInput[];
}

/**
 * The database refused to store the batch's dead letters (whatever the SQLSTATE): never the
 * fault of the good messages beside them. The caller splits them out and settles them alone.
 */
export class DeadLetterRefused extends Error {
  constructor(readonly original: unknown) {
    super(`dead letters refused: ${(original as Error)?.message ?? original}`, { cause: original });
  }
}

const key = (source: string, id: string) => `${source}\u0000${id}`;
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Applies one batch of one feed inside the caller's transaction (which holds the feed's lock:
 * `inFeedTransaction`): raw rows, then the aggregates by exactly what those rows changed; returns
 * the change-log rows for the caller to write with COMMIT. Statement count is fixed per batch
 * (no query per message); each statement carries one row per key in sorted key order.
 * `bareDeadLetters` stores the dead letters it finds without the id and revision read from their
 * payloads (for a retry after the database refused one).
 */
export async function applyBatch(
  trx: Executor,
  items: readonly BatchItem[],
  options: { bareDeadLetters?: boolean } = {},
): Promise<AppliedBatch> {
  const results: ItemResult[] = new Array(items.length);
  const deadLetters: { i: number; reason: Reason; detail: string; id: string | null; revision: number | null }[] = [];

  // One version per (source, id) in a statement: the highest revision (then the earliest
  // delivery). The others of that key share its fate once it is known (see below).
  const best = new Map<string, number>();
  const others = new Map<number, number[]>();
  items.forEach((it, i) => {
    if (!it.event) {
      deadLetters.push({ i, ...it.reject! });
      return;
    }
    const k = key(it.event.source, it.event.id);
    const j = best.get(k);
    if (j === undefined) return void best.set(k, i);
    if (it.event.revision > items[j]!.event!.revision) {
      others.set(i, [...(others.get(j) ?? []), j]);
      others.delete(j);
      best.set(k, i);
    } else {
      others.set(j, [...(others.get(j) ?? []), i]);
    }
  });
  const chosen = [...best.values()].sort((a, b) => {
    const x = items[a]!.event!;
    const y = items[b]!.event!;
    return cmp(x.source, y.source) || cmp(x.id, y.id);
  });

  // One feed per batch (a worker pulls one feed's stream, which takes only that feed's subjects):
  // the raw rows are written with this one feed.
  const feed = items.find((x) => x.event)?.event?.feed;
  if (items.some((x) => x.event && x.event.feed !== feed))
    throw new Error(`a batch mixes feeds: ${[...new Set(items.map((x) => x.event?.feed))].join(", ")}`);
  const changes = await upsertEvents(
    trx,
    feed ?? "",
    chosen.map((i) => {
      const it = items[i]!;
      const e = it.event!;
      return {
        source: e.source,
        id: e.id,
        revision: e.revision,
        ts: e.ts,
        area: e.area,
        data: e.data,
        receivedMs: it.receivedMs,
        streamSeq: it.streamSeq,
      };
    }),
  );
  // What the upsert did to each chosen item, by item index.
  const changeOf = new Map<number, EventChange>();
  const unchanged: number[] = [];
  chosen.forEach((i, j) => {
    const c = changes[j];
    if (c) changeOf.set(i, c);
    else unchanged.push(i);
  });
  const stored = await storedVersions(
    trx,
    unchanged.map((i) => items[i]!.event!),
  );
  for (const i of unchanged) {
    const e = items[i]!.event!;
    const s = stored.get(key(e.source, e.id));
    if (s && s.feed !== e.feed) {
      deadLetters.push({
        i,
        reason: "id_conflict",
        detail: `id ${JSON.stringify(e.id)} of ${e.source} is already a ${s.feed} record`,
        id: e.id,
        revision: e.revision,
      });
    } else {
      results[i] = { outcome: "duplicate" };
    }
  }

  const applied: { item: BatchItem; change: EventChange }[] = [];
  for (const i of chosen) {
    const c = changeOf.get(i);
    if (!c) continue;
    results[i] = { outcome: c.inserted ? "inserted" : "restated" };
    applied.push({ item: items[i]!, change: c });
  }

  // The other versions of a key in this batch: dead letters beside a refused one (every message
  // of a reused id is told so). Otherwise each version, in arrival order, is labelled as if it
  // had come alone: above the highest revision stored or seen so far it is inserted (the first,
  // when nothing was stored) or restated; at or below it, a duplicate.
  const refused = new Map(deadLetters.map((d) => [d.i, d]));
  for (const [i, rest] of others) {
    const r = refused.get(i);
    if (r) {
      for (const j of rest) deadLetters.push({ ...r, i: j, revision: items[j]!.event!.revision });
      continue;
    }
    const chosen = items[i]!.event!;
    const change = changeOf.get(i);
    const before = change
      ? change.inserted
        ? null
        : (change.prev?.revision ?? null)
      : (stored.get(key(chosen.source, chosen.id))?.revision ?? null);
    let seen = before !== null;
    let high = before ?? 0;
    for (const j of [i, ...rest].sort((a, b) => a - b)) {
      const rev = items[j]!.event!.revision;
      if (!seen || rev > high) {
        results[j] = { outcome: seen ? "restated" : "inserted" };
        seen = true;
        high = rev;
      } else {
        results[j] = { outcome: "duplicate" };
      }
    }
  }

  const log: { metric: LiveMetric; entries: LiveEntry[] }[] = [];
  if (applied.length > 0 && feed) {
    switch (feed) {
      case "subscribers":
        log.push(...(await applySubscribers(trx, applied)));
        break;
      case "bts":
        log.push(...(await applyBts(trx, applied)));
        break;
      case "esign":
        log.push(...(await applyEsign(trx, applied)));
        break;
      case "egov":
        log.push(...(await applyEgov(trx, applied)));
        break;
    }
  }

  // Receipt per (source, feed): every valid message counts as a sign of life, duplicates too.
  const receipts = new Map<
    string,
    { source: string; feed: string; receivedMs: number; eventTs: string | null; eventMs: number; events: number }
  >();
  for (const it of items) {
    if (!it.event) continue;
    const k = `${it.event.source}\u0000${it.event.feed}`;
    const r = receipts.get(k) ?? {
      source: it.event.source,
      feed: it.event.feed,
      receivedMs: it.receivedMs,
      eventTs: null,
      eventMs: -Infinity,
      events: 0,
    };
    if (it.receivedMs > r.receivedMs) r.receivedMs = it.receivedMs;
    receipts.set(k, r);
  }
  for (const { item } of applied) {
    const r = receipts.get(`${item.event!.source}\u0000${item.event!.feed}`)!;
    r.events += 1;
    if (item.event!.tsMs > r.eventMs) {
      r.eventMs = item.event!.tsMs;
      r.eventTs = item.event!.ts;
    }
  }
  const status = await upsertFeedStatus(
    trx,
    [...receipts.values()]
      .sort((a, b) => cmp(a.source, b.source))
      .map(({ receivedMs, ...r }) => ({ ...r, receivedAt: new Date(receivedMs) })),
  );
  if (status.length > 0) {
    log.push({
      metric: "feed",
      entries: status.map((s) => ({
        key: { source: s.source, feed: s.feed },
        value: {
          last_received_at: s.last_received_at.toISOString(),
          last_event_ts: s.last_event_ts?.toISOString() ?? null,
          events: s.events,
        },
      })),
    });
  }

  const letters = deadLetters.map((d) => {
    const it = items[d.i]!;
    const [, f, s] = it.subject.split(".");
    const bare = options.bareDeadLetters;
    return {
      stream: it.stream,
      streamSeq: it.streamSeq,
      receivedAt: new Date(it.receivedMs),
      subject: it.subject,
      source: s ?? null,
      feed: f ?? null,
      eventId: bare ? null : d.id,
      revision: bare ? null : d.revision,
      reason: d.reason,
      detail: d.detail,
      payload: it.payload,
    };
  });
  let stored2: Set<string>;
  try {
    stored2 = await insertDeadLetters(trx, letters);
  } catch (err) {
    throw classifyDbError(err) === "unavailable" ? err : new DeadLetterRefused(err);
  }
  for (const d of deadLetters) {
    results[d.i] = {
      outcome: "dead_letter",
      reason: d.reason,
      detail: d.detail,
      newDeadLetter: stored2.has(`${items[d.i]!.stream}:${items[d.i]!.streamSeq}`),
    };
  }

  return { results, log };
}

type Applied = { item: BatchItem; change: EventChange }[];

async function applySubscribers(trx: Executor, applied: Applied) {
  const readings = applied.map(({ item }) => {
    const e = item.event as Extract<FeedEvent, { feed: "subscribers" }>;
    return { source: e.source, service: e.data.service, area: e.area, count: e.data.count, ts: e.ts, revision: e.revision, id: e.id };
  });
  const values = new Map<string, { key: GaugeKey; count: number | null }>();
  const gk = (k: GaugeKey) => `${k.source}\u0000${k.service}\u0000${k.area}`;
  for (const v of await upsertSubscriberGauges(trx, readings)) values.set(gk(v), { key: v, count: v.count });
  // A restatement may lower or move the reading that held a gauge: recompute those keys from
  // the raw rows (rare: restatements only).
  const again = new Map<string, GaugeKey>();
  for (const { item, change } of applied) {
    if (!change.prev) continue;
    const e = item.event as Extract<FeedEvent, { feed: "subscribers" }>;
    const now = { source: e.source, service: e.data.service, area: e.area };
    const before = { source: e.source, service: String(change.prev.data.service), area: change.prev.area };
    again.set(gk(now), now);
    again.set(gk(before), before);
  }
  for (const v of await recomputeSubscriberGauges(trx, [...again.values()])) values.set(gk(v), { key: v, count: v.count });
  const entries = [...values.values()].map((v) => ({
    key: { source: v.key.source, service: v.key.service, area: v.key.area },
    value: v.count,
  }));
  return [{ metric: "subscribers" as const, entries }];
}

async function applyBts(trx: Executor, applied: Applied) {
  const sk = (k: StationKey) => `${k.source}\u0000${k.station}`;
  const stations = new Map<string, StationKey>();
  // Stations whose `since` the fast path cannot set, recomputed from their readings: a
  // restatement (both stations it touches), readings of several statuses in this batch, a late
  // reading of another status inside the current run (checked below). A late reading of the
  // current status is cheaper: `extendStationRuns`.
  const recompute = new Map<string, StationKey>();
  const statusesOf = new Map<string, string>();
  for (const { item, change } of applied) {
    const e = item.event as Extract<FeedEvent, { feed: "bts" }>;
    const now = { source: e.source, station: e.data.station };
    stations.set(sk(now), now);
    const seen = statusesOf.get(sk(now));
    if (seen !== undefined && seen !== e.data.status) recompute.set(sk(now), now);
    statusesOf.set(sk(now), e.data.status);
    if (change.prev) {
      const before = { source: e.source, station: String(change.prev.data.station) };
      stations.set(sk(before), before);
      recompute.set(sk(now), now);
      recompute.set(sk(before), before);
    }
  }
  // Each touched station's state before this batch: what the readings change is told against it.
  const held = new Map<string, { ts: number; since: number; tech: string; area: string; status: string }>();
  for (const s of await stationStates(trx, [...stations.values()])) {
    held.set(sk(s), { ts: s.tsMs, since: s.sinceMs, tech: s.tech, area: s.area, status: s.status });
  }
  for (const { item } of applied) {
    const e = item.event as Extract<FeedEvent, { feed: "bts" }>;
    const k = { source: e.source, station: e.data.station };
    const h = held.get(sk(k));
    // Inclusive, in milliseconds: a tie (or a microsecond apart) is recomputed rather than guessed.
    if (h && e.data.status !== h.status && e.tsMs >= h.since && e.tsMs <= h.ts) recompute.set(sk(k), k);
  }

  const readings = applied.map(({ item }) => {
    const e = item.event as Extract<FeedEvent, { feed: "bts" }>;
    return {
      source: e.source,
      station: e.data.station,
      tech: e.data.tech,
      area: e.area,
      status: e.data.status,
      ts: e.ts,
      revision: e.revision,
      id: e.id,
    };
  });
  const values = new Map<string, StationValue>();
  for (const v of await upsertBtsStations(trx, readings)) values.set(sk(v), v);
  for (const v of await recomputeBtsStations(trx, [...recompute.values()])) values.set(sk(v), v);
  for (const v of await extendStationRuns(trx, readings)) values.set(sk(v), v);

  // Only what really changed goes to the live log: a reading that moves a station's time on but
  // not its state (tech, area, status, since, to the millisecond the log carries) changes no
  // figure. Counts follow from station states: only the groups a station left or joined (by
  // tech, area or status) are counted again.
  const groups = new Map<string, StationGroup>();
  const addGroup = (g: StationGroup) =>
    groups.set(`${g.source}\u0000${g.tech}\u0000${g.area}`, { source: g.source, tech: g.tech, area: g.area });
  const changed: StationValue[] = [];
  for (const v of values.values()) {
    const h = held.get(sk(v));
    const now = v.state;
    if (!h && !now) continue;
    const moved = !h || !now || h.tech !== now.tech || h.area !== now.area || h.status !== now.status;
    if (!moved && h!.since === now!.since.getTime()) continue;
    changed.push(v);
    if (moved) {
      if (h) addGroup({ source: v.source, tech: h.tech, area: h.area });
      if (now) addGroup({ source: v.source, ...now });
    }
  }

  const counts = await stationCounts(trx, [...groups.values()], btsStatuses);
  return [
    {
      metric: "bts_station" as const,
      entries: changed.map((v) => ({
        key: { source: v.source, station: v.station },
        value: v.state ? { tech: v.state.tech, area: v.state.area, status: v.state.status, since: v.state.since.toISOString() } : null,
      })),
    },
    {
      metric: "bts_stations" as const,
      entries: counts.map((c) => ({ key: { source: c.source, tech: c.tech, area: c.area, status: c.status }, value: c.count })),
    },
  ];
}

async function applyEsign(trx: Executor, applied: Applied) {
  const c: EsignContribution[] = [];
  for (const { item, change } of applied) {
    const e = item.event as Extract<FeedEvent, { feed: "esign" }>;
    if (change.prev) {
      const p = change.prev.data as { agency: string; signed: boolean; signer: string };
      c.push({
        ts: change.prev.ts,
        source: e.source,
        agency: p.agency,
        area: change.prev.area,
        signed: p.signed,
        signer: p.signer,
        delta: -1,
      });
    }
    c.push({ ts: e.ts, source: e.source, agency: e.data.agency, area: e.area, signed: e.data.signed, signer: e.data.signer, delta: 1 });
  }
  const days = await upsertEsignCounts(trx, c);
  return [
    {
      metric: "esign_day" as const,
      entries: days.map((d) => ({
        key: { day: d.day, source: d.source, agency: d.agency, area: d.area, signed: String(d.signed), signer: d.signer },
        value: d.count,
      })),
    },
  ];
}

async function applyEgov(trx: Executor, applied: Applied) {
  const c: EgovContribution[] = [];
  for (const { item, change } of applied) {
    const e = item.event as Extract<FeedEvent, { feed: "egov" }>;
    if (change.prev) {
      const p = change.prev.data as { agency: string; level: string; channel: string; status: string };
      c.push({
        ts: change.prev.ts,
        source: e.source,
        agency: p.agency,
        level: p.level,
        channel: p.channel,
        status: p.status,
        area: change.prev.area,
        delta: -1,
      });
    }
    c.push({
      ts: e.ts,
      source: e.source,
      agency: e.data.agency,
      level: e.data.level,
      channel: e.data.channel,
      status: e.data.status,
      area: e.area,
      delta: 1,
    });
  }
  const { days, receivedMinutes: minutes } = await upsertEgovCounts(trx, c);
  return [
    {
      metric: "egov_day" as const,
      entries: days.map((d) => ({
        key: { day: d.day, source: d.source, agency: d.agency, level: d.level, channel: d.channel, status: d.status, area: d.area },
        value: d.count,
      })),
    },
    { metric: "egov_minute" as const, entries: minutes.map((m) => ({ key: { minute: m.minute.toISOString() }, value: m.count })) },
  ];
}
