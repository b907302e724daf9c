import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "./connect-nats";

/** A stream of its own for one test file, on the machine's NATS. Test-only: not in mod.ts. */
export interface ScratchStream {
  nc: NatsConnection;
  jsm: JetStreamManager;
  stream: string;
  /** The stream's one subject. */
  subject: string;
  /** Deletes the stream and closes the connection. */
  close(): Promise<void>;
}

/** Connects and creates `<PREFIX>_<tag>` taking `<prefix>_<tag>.x`. */
export async function openScratchStream(natsUrl: string, prefix: string, tag: string): Promise<ScratchStream> {
  const nc = await connectNats(natsUrl, `test-${tag}`);
  const jsm = await jetstreamManager(nc);
  const stream = `${prefix.toUpperCase()}_${tag}`;
  const subject = `${prefix}_${tag}.x`;
  await jsm.streams.add({ name: stream, subjects: [subject] });
  return {
    nc,
    jsm,
    stream,
    subject,
    async close() {
      await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    },
  };
}
