import type { Logger } from "@pulse/config";
import { decode, subjects, type Reject } from "@pulse/contracts";
import { classifyDbError, insertDeadLetters, sql, type Db, type DeadLetterInput } from "@pulse/db";
import {
  getStoredMessage,
  jetstreamManager,
  Puller,
  withoutPrefix,
  withPrefix,
  type JetStreamManager,
  type NatsConnection,
  type PulledMsg,
  type StreamNames,
} from "@pulse/nats";
import type { IngestMetrics } from "./ingest-metrics";

export interface AdvisoryWatcherOptions {
  nc: NatsConnection;
  db: Db;
  names: StreamNames;
  metrics: IngestMetrics;
  log: Logger;
  ackWaitMs: number;
}

interface MaxDeliveriesAdvisory {
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

/**
 * Dead-letters messages that reached their consumer's max deliveries. JetStream announces them
 * with an advisory; the advisories are kept in a stream of their own and read by a durable
 * consumer, so one announced while ingest was down is still handled when it returns.
 */
export class AdvisoryWatcher {
  private readonly puller: Puller;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly o: AdvisoryWatcherOptions) {
    this.puller = new Puller(o.nc, {
      stream: o.names.advisories,
      consumer: `${o.names.consumerPrefix}-advisories`,
      batchSize: 100,
      lingerMs: 5,
      ackWaitMs: 30_000,
    });
  }

  start(): void {
    this.running = true;
    this.puller.start();
    this.loop = (async () => {
      while (this.running) {
        const batch = await this.puller.nextBatch(250);
        if (batch.length === 0) continue;
        try {
          await this.handle(batch);
        } catch (err) {
          // The dead letters could not be stored: every advisory comes back after the ack wait.
          this.o.log.warn("max-deliveries advisories not handled yet", { error: String((err as Error)?.message ?? err) });
        }
        this.puller.settled(batch);
      }
    })();
  }

  async close(): Promise<void> {
    this.running = false;
    this.puller.pause();
    await this.loop;
    await this.puller.close();
  }

  /**
   * Stores a dead letter per advisory and acks those advisories. One whose message cannot be
   * looked up is left unacknowledged on its own (it comes back after the ack wait), so that it
   * holds up none of the others.
   */
  private async handle(batch: PulledMsg[]): Promise<void> {
    const jsm = await jetstreamManager(this.o.nc);
    const letters: DeadLetterInput[] = [];
    const handled: PulledMsg[] = [];
    for (const m of batch) {
      try {
        letters.push(await this.letterFor(jsm, JSON.parse(new TextDecoder().decode(m.data)) as MaxDeliveriesAdvisory));
        handled.push(m);
      } catch (err) {
        this.o.log.warn("max-deliveries advisory not handled yet; retried after its ack wait", {
          seq: m.streamSeq,
          error: String((err as Error)?.message ?? err),
        });
      }
    }
    const fresh = await this.store(letters, handled);
    for (const m of handled) m.ack();
    for (const l of letters) {
      if (!fresh.has(`${l.stream}:${l.streamSeq}`)) continue;
      this.o.metrics.deadLetters.inc({ reason: "max_deliveries" });
      if (l.feed) this.o.metrics.events.inc({ feed: l.feed, outcome: "dead_letter" });
      const rj: Reject = {
        subject: l.subject,
        id: l.eventId,
        revision: l.revision,
        reason: "max_deliveries",
        detail: l.detail,
        stream_seq: l.streamSeq,
        at: new Date().toISOString(),
      };
      this.o.nc.publish(withPrefix(this.o.names, subjects.rejects(l.source ?? "unknown")), JSON.stringify(rj));
      this.o.log.warn("message dead-lettered after max deliveries", { subject: l.subject, seq: l.streamSeq });
    }
  }

  /**
   * Stores the letters in one statement; if the database refuses that, one by one in one
   * transaction (a savepoint each, so an outage half-way stores none of them), each once more
   * without its id and revision if refused. A letter it will still not take holds up none of the
   * others: its advisory is dropped from `handled` and comes back after the ack wait. An outage
   * is thrown: every advisory comes back.
   */
  private async store(letters: DeadLetterInput[], handled: PulledMsg[]): Promise<Set<string>> {
    try {
      return await insertDeadLetters(this.o.db.db, letters);
    } catch (err) {
      if (classifyDbError(err) === "unavailable") throw err;
    }
    const fresh = new Set<string>();
    const kept: PulledMsg[] = [];
    await this.o.db.db.transaction().execute(async (trx) => {
      for (const [i, letter] of letters.entries()) {
        for (const attempt of [letter, { ...letter, eventId: null, revision: null }]) {
          await sql`SAVEPOINT letter`.execute(trx);
          try {
            for (const k of await insertDeadLetters(trx, [attempt])) fresh.add(k);
            await sql`RELEASE SAVEPOINT letter`.execute(trx);
            kept.push(handled[i]!);
            break;
          } catch (err) {
            if (classifyDbError(err) === "unavailable") throw err;
            await sql`ROLLBACK TO SAVEPOINT letter`.execute(trx);
            this.o.log.warn("dead letter for a max-deliveries advisory refused", {
              stream: letter.stream,
              seq: letter.streamSeq,
              bare: attempt !== letter,
              error: String((err as Error)?.message ?? err),
            });
          }
        }
      }
    });
    handled.splice(0, handled.length, ...kept);
    return fresh;
  }

  private async letterFor(jsm: JetStreamManager, a: MaxDeliveriesAdvisory): Promise<DeadLetterInput> {
    // Null only when the stream no longer holds the message (aged out): dead-letter it without
    // its payload. Any other error (a timeout, JetStream restarting) is thrown: the advisory is
    // not acknowledged, and is handled again after its ack wait.
    const stored = await getStoredMessage(jsm, a.stream, a.stream_seq);
    const subject = stored ? withoutPrefix(this.o.names, stored.subject) : "(expired)";
    const payload = stored?.data ?? new Uint8Array();
    // An aged-out message's receipt time is unknown: the letter is dated when it is written, so
    // the dead-letter retention (by receipt time) keeps it a full retention, instead of pruning
    // a letter dated 1970 at its next pass.
    const receivedMs = stored ? stored.time.getTime() : Date.now();
    const d = stored ? decode({ subject, payload, receivedMs }) : null;
    const [, feed, source] = subject.split(".");
    return {
      stream: a.stream,
      streamSeq: a.stream_seq,
      receivedAt: new Date(receivedMs),
      subject,
      source: source ?? null,
      feed: feed ?? null,
      eventId: d ? (d.ok ? d.value.id : d.id) : null,
      revision: d ? (d.ok ? d.value.revision : d.revision) : null,
      reason: "max_deliveries",
      detail:
        `delivered ${a.deliveries} times to ${a.consumer} without being settled` +
        (stored ? "" : "; the message is no longer in the stream"),
      payload,
    };
  }
}
