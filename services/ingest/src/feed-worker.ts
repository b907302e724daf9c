import type { Logger } from "@pulse/config";
import { boundedMemo, consumerName, decode, feeds, subjects, type Feed, type Reject } from "@pulse/contracts";
import { classifyDbError, inFeedTransaction, type Db } from "@pulse/db";
import { feedStream, Puller, withoutPrefix, withPrefix, type NatsConnection, type PulledMsg, type StreamNames } from "@pulse/nats";
import { applyBatch, DeadLetterRefused, type BatchItem, type BatchResult, type ItemResult } from "./apply-batch";
import type { DbGate } from "./db-gate";
import type { IngestMetrics } from "./ingest-metrics";

export interface FeedWorkerOptions {
  feed: Feed;
  nc: NatsConnection;
  db: Db;
  gate: DbGate;
  names: StreamNames;
  metrics: IngestMetrics;
  log: Logger;
  batchSize: number;
  lingerMs: number;
  ackWaitMs: number;
  maxBytes: number;
  maxFutureMs: number;
  /** Called after a commit that wrote change-log rows (wakes the relay). */
  onChanges: () => void;
  /** Observer of every commit: the broker receipt times of its messages and the commit time. */
  onCommit?: (feed: Feed, receivedMs: number[], committedMs: number) => void;
}

class DbUnavailable extends Error {
  constructor(readonly original: unknown) {
    super(`database unavailable: ${(original as Error)?.message ?? original}`, { cause: original });
  }
}

/**
 * Pulls one feed's durable consumer in batches, applies each batch in one transaction, then acks
 * (or terminates the dead-lettered) only after commit.
 */
export class FeedWorker {
  private readonly o: FeedWorkerOptions;
  private readonly puller: Puller;
  private readonly feedIndex: number;
  private readonly stream: string;
  /** Delivered subject to canonical subject: a feed has a handful of sources. */
  private readonly canonical: (subject: string) => string;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(options: FeedWorkerOptions) {
    this.o = options;
    this.feedIndex = feeds.indexOf(options.feed);
    this.stream = feedStream(options.names, options.feed);
    this.canonical = boundedMemo((subject) => withoutPrefix(options.names, subject));
    this.puller = new Puller(options.nc, {
      stream: this.stream,
      consumer: consumerName(options.feed, options.names.consumerPrefix),
      batchSize: options.batchSize,
      lingerMs: options.lingerMs,
      ackWaitMs: options.ackWaitMs,
    });
  }

  get held(): number {
    return this.puller.held;
  }

  start(): void {
    this.running = true;
    this.puller.start();
    this.loop = this.run();
  }

  /**
   * Stops fetching, lets the batch in hand settle, hands queued messages back. A batch waiting
   * out an outage settles only once the gate is closed or the database answers: its caller
   * closes the gate after calling this (the worker stops synchronously, before the first await).
   */
  async close(): Promise<void> {
    this.running = false;
    this.puller.pause();
    await this.loop;
    await this.puller.close();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const batch = await this.puller.nextBatch(250);
      if (batch.length === 0) continue;
      try {
        await this.handle(batch);
      } catch (err) {
        // Only a bug reaches here (bad input and outages are handled below). The messages stay
        // unacknowledged and come back after the ack wait; the loop carries on.
        this.o.log.error("batch failed", { error: String((err as Error)?.stack ?? err) });
        this.puller.settled(batch);
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  private async handle(batch: PulledMsg[]): Promise<void> {
    const started = performance.now();
    const items = batch.map((m) => this.prepare(m));
    const redelivered = batch.filter((m) => m.deliveryCount > 1).length;
    if (redelivered) this.o.metrics.redeliveries.inc({ feed: this.o.feed }, redelivered);

    let done: BatchResult | null = null;
    // Dead letters a part of this batch stored before a later part met an outage: the retry
    // finds them stored already, yet the producer has not been told.
    const stored = new Set<number>();
    while (done === null) {
      try {
        done = await this.commit(items, stored);
      } catch (err) {
        if (!(err instanceof DbUnavailable)) throw err;
        if (this.running) {
          this.puller.pause();
          await this.o.gate.down(err.original);
        }
        if (!this.running) {
          // Shutting down mid-outage (close() stops the worker, then the gate releases it): the
          // batch was not committed, so hand it back for redelivery instead of retrying it.
          this.puller.giveBack(batch);
          return;
        }
        this.puller.resume();
      }
    }

    const committedMs = Date.now();
    // One observation per batch, at its oldest message: the lag the slowest message saw.
    this.o.metrics.commitLag.observe({ feed: this.o.feed }, (committedMs - Math.min(...batch.map((m) => m.timestampMs))) / 1000);
    this.o.onCommit?.(
      this.o.feed,
      batch.map((m) => m.timestampMs),
      committedMs,
    );

    // Settle only after commit: a crash before this line means redelivery, and the upserts
    // make the second application change nothing.
    const rejects: Reject[] = [];
    done.results.forEach((r, i) => {
      const m = batch[i]!;
      if (r.unsettled) return;
      if (r.outcome === "dead_letter") {
        m.term();
        if (r.newDeadLetter || stored.has(m.streamSeq)) rejects.push(this.reject(items[i]!, r));
      } else {
        m.ack();
      }
    });
    this.puller.settled(batch);
    for (const rj of rejects) {
      const source = rj.subject.split(".")[2] ?? "unknown";
      this.o.nc.publish(withPrefix(this.o.names, subjects.rejects(source)), JSON.stringify(rj));
      this.o.metrics.deadLetters.inc({ reason: rj.reason });
    }
    const counts = new Map<string, number>();
    for (const r of done.results) if (!r.unsettled) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
    for (const [outcome, n] of counts) this.o.metrics.events.inc({ feed: this.o.feed, outcome }, n);
    this.o.metrics.batchSize.observe({ feed: this.o.feed }, batch.length);
    this.o.metrics.batchSeconds.observe({ feed: this.o.feed }, (performance.now() - started) / 1000);
    if (done.changes > 0) this.o.onChanges();
  }

  private prepare(m: PulledMsg): BatchItem {
    const subject = this.canonical(m.subject);
    const d = decode(
      { subject, payload: m.data, receivedMs: m.timestampMs },
      { maxBytes: this.o.maxBytes, maxFutureMs: this.o.maxFutureMs },
    );
    return {
      subject,
      stream: this.stream,
      streamSeq: m.streamSeq,
      receivedMs: m.timestampMs,
      payload: m.data,
      event: d.ok ? d.value : null,
      reject: d.ok ? null : { reason: d.reason, detail: d.detail, id: d.id, revision: d.revision },
    };
  }

  /**
   * Commits the batch; on a data error splits it (refused messages apart from good ones, then
   * halves) until the offending message is alone, then dead-letters that one (`db_rejected`) and
   * commits the rest. Connection errors are thrown as DbUnavailable for the caller to wait out:
   * they never count against a message.
   */
  private async commit(items: BatchItem[], stored: Set<number>, attempt = 0, bare = false): Promise<BatchResult> {
    try {
      const done = await inFeedTransaction(this.o.db, this.feedIndex, (trx) => applyBatch(trx, items, { bareDeadLetters: bare }));
      done.results.forEach((r, i) => r.newDeadLetter && stored.add(items[i]!.streamSeq));
      return done;
    } catch (err) {
      const letters = err instanceof DeadLetterRefused;
      const kind = classifyDbError(letters ? err.original : err);
      if (kind === "unavailable") {
        this.o.metrics.dbErrors.inc({ kind: "unreachable" });
        throw new DbUnavailable(err);
      }
      if (kind === "retry" && attempt < 5) return this.commit(items, stored, attempt + 1, bare);
      this.o.metrics.dbErrors.inc({ kind: kind === "bug" ? "bug" : "data" });
      // A data error, or any refusal of the dead letters, is split until its message is alone; a
      // bug in our own statements is not the data's fault and fails the batch whole. Dead letters
      // alone are always split: a dead letter must never hold up anything else.
      const good = items.filter((x) => x.event);
      if (good.length > 0 && !(kind === "data" || letters)) throw err;
      if (good.length > 0 && good.length < items.length) {
        // Refused messages beside good ones: apart first, so that a dead letter the database
        // refuses can never get a good message blamed for it. The good ones first: if they fail
        // for good, nothing of the batch has been committed yet.
        return this.commitApart(items, [good, items.filter((x) => !x.event)], stored);
      }
      if (items.length > 1) {
        const mid = Math.ceil(items.length / 2);
        return this.commitApart(items, [items.slice(0, mid), items.slice(mid)], stored);
      }
      // One message left. It may be its dead letter (a refusal, or an id reused across feeds)
      // that the database refused: once more without what was read from the payload (which is
      // kept as bytes) before anything else.
      const only = items[0]!;
      if (!bare) {
        this.o.log.warn("database refused a message or its dead letter; once more without the dead letter's id", {
          seq: only.streamSeq,
          error: (err as Error).message,
        });
        return this.commit(items, stored, 0, true);
      }
      if (!only.event) {
        // Even that refused: leave it unsettled; it comes back and is dead-lettered from the
        // advisory after its max deliveries. Its neighbours have been stored.
        this.o.log.error("database will not store this dead letter; leaving it unsettled", {
          seq: only.streamSeq,
          error: (err as Error).message,
        });
        return {
          results: [{ outcome: "dead_letter", reason: only.reject!.reason, detail: only.reject!.detail, unsettled: true }],
          changes: 0,
        };
      }
      this.o.log.warn("database refused one message; dead-lettering it", {
        subject: only.subject,
        seq: only.streamSeq,
        error: (err as Error).message,
      });
      const isolated = {
        ...only,
        event: null,
        reject: {
          reason: "db_rejected" as const,
          detail: `database error: ${(err as Error).message}`,
          id: only.event.id,
          revision: only.event.revision,
        },
      };
      return this.commit([isolated], stored);
    }
  }

  /** Commits the parts one after the other; the results come back in the order of `items`. */
  private async commitApart(items: BatchItem[], parts: BatchItem[][], stored: Set<number>): Promise<BatchResult> {
    const results = new Map<BatchItem, ItemResult>();
    let changes = 0;
    for (const part of parts) {
      const done = await this.commit(part, stored);
      part.forEach((x, i) => results.set(x, done.results[i]!));
      changes += done.changes;
    }
    return { results: items.map((x) => results.get(x)!), changes };
  }

  private reject(item: BatchItem, r: ItemResult): Reject {
    return {
      subject: item.subject,
      id: item.event?.id ?? item.reject?.id ?? null,
      revision: item.event?.revision ?? item.reject?.revision ?? null,
      reason: r.reason!,
      detail: r.detail ?? "",
      stream_seq: item.streamSeq,
      at: new Date().toISOString(),
    };
  }
}
