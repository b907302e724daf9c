import type { Reason } from "@pulse/contracts";

/** How a failed JetStream publish reads for the record: refused for good, or not known to be stored. */
export type PublishFailure =
  | { kind: "refused"; reason?: Reason; detail: string }
  /** A timeout or a lost connection says nothing about the record: it may or may not be stored. */
  | { kind: "unknown"; detail: string };

/** Classifies why a JetStream publish failed (`js.publish`, or the door's PubAck read by hand): one rule for the CLI and the HTTPS door. */
export function classifyPublishError(err: unknown, subject: string): PublishFailure {
  const msg = (err as Error).message;
  const code = String((err as { code?: unknown }).code ?? "");
  if (/payload|too large|maximum/i.test(msg)) return { kind: "refused", reason: "too_large", detail: `the broker refused it: ${msg}` };
  if (code === "503" || /no responders|not enabled/i.test(msg)) {
    // No stream takes the subject: what a producer hears for an unknown feed.
    return {
      kind: "refused",
      reason: "bad_subject",
      detail: `no stream takes ${subject} (${msg}): is PULSE_NAMESPACE right, and has ingest created its streams?`,
    };
  }
  // The broker's own refusal: this NATS user may not publish there. No reason code: ingest never saw it.
  if (/permissions violation/i.test(msg)) return { kind: "refused", detail: `the broker refused the publish: ${msg}` };
  return { kind: "unknown", detail: `the publish failed: ${msg}` };
}
