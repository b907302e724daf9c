import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager, type StoredMsg } from "@nats-io/jetstream";

/**
 * True for JetStream's "no message found" (API error 10037): the stream no longer holds that
 * sequence (aged out, deleted, purged). Every other error — a timeout, no responders while
 * JetStream restarts, a lost leader — says nothing about the message.
 */
export function isNoMessageFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound;
}

/**
 * One stored message by stream sequence; null only when the stream no longer holds it. Any other
 * failure rejects, so that the caller retries rather than taking the message for gone.
 * (@nats-io/jetstream 3 already resolves null for 10037; older clients rejected with it.)
 */
export async function getStoredMessage(jsm: JetStreamManager, stream: string, seq: number): Promise<StoredMsg | null> {
  try {
    return await jsm.streams.getMessage(stream, { seq });
  } catch (err) {
    if (isNoMessageFound(err)) return null;
    throw err;
  }
}
