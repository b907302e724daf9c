/**
 * The soak's top-up load: valid records of the four feeds at a steady rate, from the seeds' own
 * sources and the communes and wards in force (judged on each record's day), each with a new id, published with its Msg-Id and counted when
 * JetStream acknowledges it. The simulator alone cannot give a steady 2,000 events/s (its gauges
 * report at most once a second each, and its documents and dossiers follow the office day), so it
 * runs at a realistic rate and this tops it up.
 */
import { msgId } from "@pulse/contracts";
import { headers, withPrefix, type JetStreamClient, type StreamNames } from "@pulse/nats";
import { areaMap, localDayNumber } from "@pulse/seeds";

const carriers = ["viettel", "vinaphone", "mobifone", "vietnamobile"];
const services = ["mobile", "mobile_broadband", "fixed_broadband", "ftth"];
const techs = ["2G", "3G", "4G", "5G"];
const btsStatus = ["up", "up", "up", "degraded", "down"];
const egovStatus = ["received", "received", "resolved_on_time", "resolved_late", "rejected"];
const channels = ["online_full", "online_partial", "in_person"];
/** The lowest-level areas in force on the UTC+7 day of `ms` (a soak may run past midnight). */
let areasDay = { day: Number.NaN, codes: [] as string[] };
const areasOn = (ms: number) => {
  const day = localDayNumber(ms);
  if (areasDay.day !== day) areasDay = { day, codes: areaMap.leavesOn(day).map((a) => a.code) };
  return areasDay.codes;
};

export interface LoadStats {
  /** Acknowledged as new by JetStream. */
  published: number;
  duplicates: number;
  failed: number;
}

/** Publishes `rate` records a second (in 10 ms slots) until stopped. `stop()` resolves once every publish is acknowledged. */
export function startLoad(js: JetStreamClient, names: StreamNames, rate: number, tag: string) {
  const stats: LoadStats = { published: 0, duplicates: 0, failed: 0 };
  let x = 12345;
  const rand = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const local = (ms: number) => new Date(ms + 7 * 3_600_000).toISOString().slice(0, 23) + "+07:00";
  let n = 0;
  const record = (): { feed: string; source: string; body: Record<string, unknown> } => {
    const id = `${tag}-${n++}`;
    const u = rand();
    const now = Date.now();
    const ts = local(now);
    const areas = areasOn(now);
    if (u < 0.4) {
      const step = pick(egovStatus);
      return {
        feed: "egov",
        source: "dvc",
        body: {
          id,
          ts,
          area: pick(areas),
          data: { procedure: "cap-giay-phep-xay-dung", agency: "ubnd-xa", level: "commune", channel: pick(channels), status: step },
        },
      };
    }
    if (u < 0.7)
      return {
        feed: "esign",
        source: "edoc",
        body: {
          id,
          ts,
          area: "40",
          data: { agency: "so-khcn", doc: `${n}/CV-SOAK`, signed: rand() < 0.955, signer: rand() < 0.8 ? "organization" : "personal" },
        },
      };
    if (u < 0.9)
      return {
        feed: "subscribers",
        source: pick(carriers),
        body: { id, ts, area: pick(areas), data: { service: pick(services), count: Math.floor(rand() * 500_000) } },
      };
    return {
      feed: "bts",
      source: pick(carriers),
      body: {
        id,
        ts,
        area: pick(areas),
        data: { station: `SOAK-${Math.floor(rand() * 2_000)}`, tech: pick(techs), status: pick(btsStatus) },
      },
    };
  };
  let stopping = false;
  let inFlight = 0;
  // One waiter woken by the next acknowledgement (never Promise.race over the in-flight set: each
  // race adds a reaction to every pending publish, which is quadratic in time and memory).
  let wake: (() => void) | null = null;
  const send = (r: ReturnType<typeof record>) => {
    const h = headers();
    h.set("Nats-Msg-Id", msgId(r.source, r.body.id as string));
    inFlight++;
    void js
      .publish(withPrefix(names, `feeds.${r.feed}.${r.source}`), JSON.stringify({ v: 1, source: r.source, ...r.body }), {
        headers: h,
        timeout: 10_000,
      })
      .then((ack) => {
        if (ack.duplicate) stats.duplicates++;
        else stats.published++;
      })
      .catch(() => void stats.failed++)
      .finally(() => {
        inFlight--;
        const w = wake;
        wake = null;
        w?.();
      });
  };
  const run = (async () => {
    let t0 = performance.now();
    let due = 0;
    for (let slot = 0; !stopping; slot++) {
      due += rate / 100;
      for (; due >= 1; due--) send(record());
      // Never more than two seconds' worth waiting: a slow broker slows us, it does not queue us.
      while (inFlight > rate * 2) await new Promise<void>((r) => (wake = r));
      const wait = t0 + (slot + 1) * 10 - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      // More than a second behind (this process was busy): carry on from now, no burst to catch up.
      else if (wait < -1_000) t0 = performance.now() - (slot + 1) * 10;
    }
    while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  })();
  return {
    stats,
    async stop(): Promise<LoadStats> {
      stopping = true;
      await run;
      return stats;
    },
  };
}

// Run as a process of its own (the soak forks it, so that the load never waits on the sampler
// or the simulator): IPC in {cmd:"start", natsUrl, namespace, rate, tag}, {cmd:"stats"},
// {cmd:"stop"}; out {ok:"ready"}, {ok:"started"}, {stats}, {stopped: stats}.
if (process.send && import.meta.url === `file://${process.argv[1]}`) {
  const { connectNats, jetstream, testStreamNames } = await import("@pulse/nats");
  let load: ReturnType<typeof startLoad> | null = null;
  let nc: Awaited<ReturnType<typeof connectNats>> | null = null;
  process.on("message", (m: { cmd: string; natsUrl?: string; namespace?: string; rate?: number; tag?: string }) => {
    if (m.cmd === "start") {
      void (async () => {
        nc = await connectNats(m.natsUrl!, "bench-soak-load");
        load = startLoad(jetstream(nc), testStreamNames(m.namespace!), m.rate!, m.tag!);
        process.send!({ ok: "started" });
      })();
    } else if (m.cmd === "stats") process.send!({ stats: load?.stats ?? { published: 0, duplicates: 0, failed: 0 } });
    else if (m.cmd === "stop")
      void (async () => {
        const stats = load ? await load.stop() : { published: 0, duplicates: 0, failed: 0 };
        process.send!({ stopped: stats });
        await Promise.race([nc?.drain().catch(() => {}), new Promise((r) => setTimeout(r, 2_000))]);
        setTimeout(() => process.exit(0), 100);
      })();
  });
  process.send({ ok: "ready" });
}
