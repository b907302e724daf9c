import type { Logger } from "@pulse/config";
import type { Reason, Reject } from "@pulse/contracts";
import { headers, jetstream, type JetStreamClient, type NatsConnection, type Subscription } from "@pulse/nats";

export interface OutMessage {
  subject: string;
  body: string;
  /** Nats-Msg-Id, or null for a publish without one (an injected duplicate that must reach ingest). */
  msgId: string | null;
  /** A publish the broker is expected to drop (same Msg-Id as one already sent). */
  expectDuplicate?: boolean;
}

export interface PublishStats {
  published: number;
  /** Acknowledged `duplicate: true`, as expected (an injected repeat with the same Msg-Id). */
  brokerDuplicates: number;
  /** Acknowledged `duplicate: true` after a retry: the first attempt had landed. */
  retryDuplicates: number;
  /** Acknowledged `duplicate: true` for a record we consider new: a bug in our ids. */
  unexpectedDuplicates: number;
  retries: number;
  failed: number;
  /** What ingest told us on rejects.<source>, by reason. */
  rejects: Partial<Record<Reason, number>>;
}

const isRetryable = (err: unknown) => {
  const e = err as { name?: string; message?: string; code?: string };
  return /timeout|no responders|503|disconnect|closed|reconnect/i.test(`${e?.name} ${e?.message} ${e?.code}`);
};

/**
 * Publishes as a real producer: Nats-Msg-Id `<source>:<id>:<revision>`, up to `inFlight`
 * publishes awaiting their acknowledgement at once, a timed-out publish retried with the same
 * Msg-Id (so a first attempt that did land comes back as a duplicate, not as a second record),
 * and the rejects ingest sends back counted by reason.
 */
export class Publisher {
  readonly stats: PublishStats = {
    published: 0,
    brokerDuplicates: 0,
    retryDuplicates: 0,
    unexpectedDuplicates: 0,
    retries: 0,
    failed: 0,
    rejects: {},
  };
  private readonly js: JetStreamClient;
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private idle: (() => void)[] = [];
  private subs: Subscription[] = [];

  constructor(
    nc: NatsConnection,
    private readonly options: { inFlight: number; timeoutMs: number; maxAttempts: number; log: Logger },
  ) {
    this.js = jetstream(nc, { timeout: options.timeoutMs });
    this.nc = nc;
  }
  private readonly nc: NatsConnection;

  /** Listens on rejects.<source> (under the configured prefix) for each of our sources. */
  listenRejects(subjects: string[], onReject?: (r: Reject) => void): void {
    for (const subject of subjects) {
      this.subs.push(
        this.nc.subscribe(subject, {
          callback: (_err, m) => {
            try {
              const r = m.json<Reject>();
              this.stats.rejects[r.reason] = (this.stats.rejects[r.reason] ?? 0) + 1;
              onReject?.(r);
            } catch {
              /* not a reject we can read: nothing to count */
            }
          },
        }),
      );
    }
  }

  /** Resolves once the message is handed over (a slot was free); the acknowledgement is awaited in the background. */
  async publish(m: OutMessage): Promise<void> {
    while (this.inFlight >= this.options.inFlight) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight++;
    void this.send(m).finally(() => {
      this.inFlight--;
      this.waiters.shift()?.();
      if (this.inFlight === 0) for (const r of this.idle.splice(0)) r();
    });
  }

  /** Waits for every publish in flight to be acknowledged (or given up). */
  async flush(): Promise<void> {
    if (this.inFlight === 0) return;
    await new Promise<void>((r) => this.idle.push(r));
  }

  close(): void {
    for (const s of this.subs) s.unsubscribe();
  }

  private async send(m: OutMessage): Promise<void> {
    const h = headers();
    if (m.msgId) h.set("Nats-Msg-Id", m.msgId);
    for (let attempt = 1; ; attempt++) {
      try {
        const ack = await this.js.publish(m.subject, m.body, { headers: h, timeout: this.options.timeoutMs });
        this.stats.published++;
        if (ack.duplicate) {
          if (m.expectDuplicate) this.stats.brokerDuplicates++;
          else if (attempt > 1) this.stats.retryDuplicates++;
          else {
            this.stats.unexpectedDuplicates++;
            this.options.log.warn("the broker took a new record for a duplicate: ids repeat", { msgId: m.msgId });
          }
        }
        return;
      } catch (err) {
        if (!isRetryable(err) || attempt >= this.options.maxAttempts) {
          this.stats.failed++;
          this.options.log.error("publish failed", {
            subject: m.subject,
            msgId: m.msgId,
            attempts: attempt,
            error: String((err as Error)?.message ?? err),
          });
          return;
        }
        this.stats.retries++;
        await new Promise((r) => setTimeout(r, Math.min(2_000, 50 * 2 ** attempt)));
      }
    }
  }
}
