import { reasonCodes, reasons } from "@pulse/contracts";
import { getDeadLetters, listDeadLetters, markRetrySubmitted, purgeDeadLetters, recordRetryOutcome, type DeadLetter } from "@pulse/db";
import { CliError, UsageError } from "../cli-error";
import type { CliConfig } from "../config";
import { announceWriteTarget, openDb, openNats } from "../connect";
import { formatTable, printJson, type CliIo } from "../io";
import { progress } from "../progress";
import { sendAndSettle } from "@pulse/settle";
import { localTime, parseWhen } from "../time-args";
import { seconds } from "./publish";

const checkReason = (r: string | undefined) => {
  if (r !== undefined && !(reasonCodes as string[]).includes(r))
    throw new UsageError(`--reason must be one of ${reasonCodes.join(", ")}; got ${JSON.stringify(r)}`);
};

const parseIds = (ids: readonly string[]): number[] =>
  ids.map((s) => {
    if (!/^\d+$/.test(s)) throw new UsageError(`a dead-letter id is a whole number, got ${JSON.stringify(s)}`);
    return Number(s);
  });

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** The payload as text when it is UTF-8, else as base64 (said so). */
const payloadText = (p: Uint8Array): { encoding: "utf-8" | "base64"; text: string } => {
  try {
    return { encoding: "utf-8", text: utf8.decode(p) };
  } catch {
    return { encoding: "base64", text: Buffer.from(p).toString("base64") };
  }
};

const retryState = (d: Pick<DeadLetter, "retries" | "retry_outcome" | "retry_dead_letter_id">) =>
  d.retries === 0 ? "held" : `${d.retry_outcome}${d.retry_dead_letter_id ? ` → #${d.retry_dead_letter_id}` : ""} (${d.retries}×)`;

/** `pulse dlq list`. */
export async function dlqList(
  io: CliIo,
  config: CliConfig,
  o: { source?: string; reason?: string; since?: string; held?: boolean; limit: string; json?: boolean },
): Promise<number> {
  checkReason(o.reason);
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit must be a whole number above 0, got ${JSON.stringify(o.limit)}`);
  const since = o.since === undefined ? undefined : parseWhen(o.since, "--since");
  const db = await openDb(config);
  try {
    const rows = await listDeadLetters(db.db, { source: o.source, reason: o.reason, since, heldOnly: o.held, limit });
    if (o.json) {
      printJson(io, { dead_letters: rows.map((r) => ({ ...r, id: Number(r.id) })) });
      return 0;
    }
    if (rows.length === 0) {
      io.stdout.write("no dead letters match\n");
      return 0;
    }
    io.stdout.write(
      formatTable(
        ["id", "stored", "subject", "id in record", "reason", "retry", "detail"],
        rows.map((r) => [
          String(r.id),
          localTime(r.created_at),
          r.subject,
          r.event_id ?? "–",
          r.reason,
          retryState(r),
          r.detail.length > 60 ? `${r.detail.slice(0, 59)}…` : r.detail,
        ]),
      ),
    );
    io.stdout.write(
      `${rows.length} dead letter${rows.length === 1 ? "" : "s"}${rows.length === limit ? ` (the newest ${limit}; --limit for more)` : ""}\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}

/** `pulse dlq show ID`. */
export async function dlqShow(io: CliIo, config: CliConfig, id: string, o: { json?: boolean }): Promise<number> {
  const [n] = parseIds([id]);
  const db = await openDb(config);
  try {
    const [d] = await getDeadLetters(db.db, [n!]);
    if (!d) throw new CliError(`no dead letter #${n}`);
    const payload = payloadText(d.payload);
    const view = {
      id: Number(d.id),
      subject: d.subject,
      stream: d.stream,
      stream_seq: d.stream_seq,
      received_at: d.received_at,
      stored_at: d.created_at,
      source: d.source,
      feed: d.feed,
      event_id: d.event_id,
      revision: d.revision,
      reason: d.reason,
      detail: d.detail,
      payload_bytes: d.payload.byteLength,
      payload_encoding: payload.encoding,
      payload: payload.text,
      retries: d.retries,
      retried_at: d.retried_at,
      retry_outcome: d.retry_outcome,
      retry_detail: d.retry_detail,
      retry_stream_seq: d.retry_stream_seq,
      retry_dead_letter_id: d.retry_dead_letter_id,
    };
    if (o.json) printJson(io, view);
    else {
      const rows: [string, string][] = [
        ["dead letter", `#${view.id}`],
        ["subject", view.subject],
        ["stream", `${view.stream} sequence ${view.stream_seq}`],
        ["received", localTime(view.received_at)],
        ["stored", localTime(view.stored_at)],
        ["record id", `${view.event_id ?? "–"} (revision ${view.revision ?? "–"})`],
        ["reason", `${view.reason}: ${reasonText(view.reason)}`],
        ["detail", view.detail],
        ["retries", view.retries === 0 ? "none: held" : `${view.retries}, last ${localTime(view.retried_at)}`],
      ];
      if (view.retries > 0) {
        rows.push(["last outcome", `${view.retry_outcome}${view.retry_detail ? `: ${view.retry_detail}` : ""}`]);
        if (view.retry_stream_seq !== null) rows.push(["retry message", `sequence ${view.retry_stream_seq}`]);
        if (view.retry_dead_letter_id !== null) rows.push(["became", `dead letter #${view.retry_dead_letter_id}`]);
      }
      rows.push([`payload (${view.payload_bytes} bytes, ${view.payload_encoding})`, ""]);
      const w = Math.max(...rows.slice(0, -1).map((r) => r[0].length));
      for (const [k, v] of rows.slice(0, -1)) io.stdout.write(`${k.padEnd(w)}  ${v}\n`);
      io.stdout.write(`${rows.at(-1)![0]}:\n${view.payload}\n`);
    }
    return 0;
  } finally {
    await db.close();
  }
}

const reasonText = (r: string) => (reasons as Record<string, string>)[r] ?? "(not a known reason code)";

/**
 * `pulse dlq retry`: each dead letter goes back to its subject with Msg-Id `retry:<id>` (with the
 * number of earlier refused retries after a colon, once there are any): a second retry while the
 * first is in JetStream's duplicate window is dropped by it, and one after that is a duplicate
 * to ingest, so a retry never counts twice. Exit 1 if any is refused again or unsettled.
 */
export async function dlqRetry(
  io: CliIo,
  config: CliConfig,
  idArgs: readonly string[],
  o: { reason?: string; source?: string; timeout: string; json?: boolean },
): Promise<number> {
  checkReason(o.reason);
  const ids = parseIds(idArgs);
  if (ids.length === 0 && o.reason === undefined && o.source === undefined) {
    throw new UsageError("say which dead letters: ids, --reason R or --source S");
  }
  if (ids.length > 0 && (o.reason !== undefined || o.source !== undefined))
    throw new UsageError("give ids, or --reason/--source, not both");
  const timeoutMs = seconds(o.timeout, "--timeout") * 1000;
  announceWriteTarget(io, config, "nats");
  const db = await openDb(config);
  try {
    let letters: DeadLetter[];
    if (ids.length > 0) {
      letters = await getDeadLetters(db.db, ids);
      const missing = ids.filter((id) => !letters.some((l) => Number(l.id) === id));
      if (missing.length) throw new CliError(`no dead letter ${missing.map((m) => `#${m}`).join(", ")}`);
    } else {
      const held = await listDeadLetters(db.db, { reason: o.reason, source: o.source, heldOnly: true, limit: 100_000 });
      letters = await getDeadLetters(
        db.db,
        held.map((h) => Number(h.id)),
      );
    }
    const results: Record<string, unknown>[] = [];
    const sendable = letters.filter((l) => l.payload.byteLength > 0 || !l.subject.startsWith("("));
    for (const l of letters) {
      if (!sendable.includes(l))
        results.push({
          id: Number(l.id),
          status: "skipped",
          detail: "the message had left the stream before it was stored: nothing to send",
        });
    }
    if (sendable.length > 0) {
      const nc = await openNats(config, "pulse-cli-retry");
      const bar = progress(io, sendable.length, "retried", !o.json);
      try {
        const settled = await sendAndSettle(
          nc,
          sendable.map((l) => ({
            tag: Number(l.id),
            subject: l.subject,
            payload: l.payload,
            msgId: `retry:${l.id}${l.retry_refusals > 0 ? `:${l.retry_refusals}` : ""}`,
          })),
          { names: config.names, db, timeoutMs, onSettled: () => bar.tick() },
        );
        bar.stop();
        for (const s of settled) {
          const detail =
            s.status === "accepted"
              ? `landed: stream ${s.stream} sequence ${s.seq}`
              : s.status === "refused"
                ? `${s.reason ? `${s.reason}: ` : ""}${s.detail}`
                : (s.detail ?? "");
          let became: number | null = null;
          if (s.seq !== undefined) {
            await markRetrySubmitted(db.db, s.tag, s.seq, `sent as ${s.msgId}`);
            ({ newDeadLetterId: became } = await recordRetryOutcome(db.db, s.tag, s.status, detail, {
              stream: s.stream!,
              streamSeq: s.seq,
            }));
          } else {
            // JetStream refused the publish itself: still held, the attempt noted.
            await recordRetryOutcome(db.db, s.tag, s.status, detail);
          }
          results.push({
            id: s.tag,
            status: s.status,
            by: s.by,
            reason: s.reason,
            detail,
            msg_id: s.msgId,
            stream_seq: s.seq,
            new_dead_letter_id: became,
          });
        }
      } finally {
        bar.stop();
        await nc.drain().catch(() => nc.close());
      }
    }
    results.sort((a, b) => (a.id as number) - (b.id as number));
    if (o.json) printJson(io, { retried: results });
    else {
      if (results.length === 0) io.stdout.write("no held dead letters match\n");
      for (const r of results) {
        io.stdout.write(
          `#${r.id}: ${r.status}${r.detail ? ` (${r.detail})` : ""}${r.new_dead_letter_id ? ` → dead letter #${r.new_dead_letter_id}` : ""}\n`,
        );
      }
      const n = (s: string) => results.filter((r) => r.status === s).length;
      if (results.length)
        io.stdout.write(
          `${results.length} retried: ${n("accepted")} accepted, ${n("duplicate")} duplicate, ${n("refused")} refused, ${n("unsettled")} unsettled\n`,
        );
    }
    return results.some((r) => r.status === "refused" || r.status === "unsettled") ? 1 : 0;
  } finally {
    await db.close();
  }
}

/** `pulse dlq purge --before …`. */
export async function dlqPurge(
  io: CliIo,
  config: CliConfig,
  o: { before: string; retriedOnly?: boolean; json?: boolean },
): Promise<number> {
  const before = parseWhen(o.before, "--before");
  const db = await openDb(config);
  try {
    const deleted = await purgeDeadLetters(db.db, before, { retriedOnly: o.retriedOnly });
    if (o.json) printJson(io, { deleted, before: before.toISOString() });
    else io.stdout.write(`${deleted} dead letter${deleted === 1 ? "" : "s"} stored before ${localTime(before)} deleted\n`);
    return 0;
  } finally {
    await db.close();
  }
}
