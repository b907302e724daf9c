/**
 * The metric catalogue: every Prometheus series Pulse exposes is named here, with its labels.
 * Dashboards and alert rules depend on these names; change them here or not at all.
 */
export interface MetricDef {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
  labels: readonly string[];
  buckets?: readonly number[];
}

const def = <T extends MetricDef>(m: T) => m;

export const ingestMetrics = {
  events: def({
    name: "pulse_ingest_events_total",
    type: "counter",
    help: "Feed messages settled by ingest, by feed and outcome (inserted, restated, duplicate, dead_letter).",
    labels: ["feed", "outcome"],
  }),
  deadLetters: def({
    name: "pulse_ingest_dead_letters_total",
    type: "counter",
    help: "Messages dead-lettered, by reason code.",
    labels: ["reason"],
  }),
  batchSize: def({
    name: "pulse_ingest_batch_size",
    type: "histogram",
    help: "Messages per committed batch.",
    labels: ["feed"],
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2000],
  }),
  batchSeconds: def({
    name: "pulse_ingest_batch_duration_seconds",
    type: "histogram",
    help: "Time from fetch to commit of one batch.",
    labels: ["feed"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }),
  commitLag: def({
    name: "pulse_ingest_commit_lag_seconds",
    type: "histogram",
    help: "From the broker's receipt of a message to the commit that applied it.",
    labels: ["feed"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  }),
  dbErrors: def({
    name: "pulse_ingest_db_errors_total",
    type: "counter",
    help: "Database errors met by ingest, by kind (unreachable, data).",
    labels: ["kind"],
  }),
  dbUp: def({
    name: "pulse_ingest_db_up",
    type: "gauge",
    help: "1 while ingest can reach the database, 0 while it waits for it.",
    labels: [],
  }),
  consumerPending: def({
    name: "pulse_ingest_consumer_pending",
    type: "gauge",
    help: "Messages in the stream not yet delivered to the feed's consumer.",
    labels: ["feed"],
  }),
  consumerAckPending: def({
    name: "pulse_ingest_consumer_ack_pending",
    type: "gauge",
    help: "Messages delivered and not yet acknowledged.",
    labels: ["feed"],
  }),
  redeliveries: def({
    name: "pulse_ingest_redeliveries_total",
    type: "counter",
    help: "Messages received that had been delivered before.",
    labels: ["feed"],
  }),
  relayed: def({
    name: "pulse_ingest_changes_relayed_total",
    type: "counter",
    help: "Change-log rows published to the LIVE stream.",
    labels: [],
  }),
  relayLag: def({
    name: "pulse_ingest_relay_lag",
    type: "gauge",
    help: "Change-log rows committed and not yet published to LIVE.",
    labels: [],
  }),
} as const;

/** Outcomes of `pulse_ingest_events_total`. */
export const outcomes = ["inserted", "restated", "duplicate", "dead_letter"] as const;
export type Outcome = (typeof outcomes)[number];

/**
 * The live gateway (services/live). Named `liveGatewayMetrics` because `liveMetrics` is already
 * the change log's metric list (live.ts).
 */
export const liveGatewayMetrics = {
  clients: def({
    name: "pulse_live_clients",
    type: "gauge",
    help: "WebSocket clients connected to this gateway (after access checks).",
    labels: [],
  }),
  frames: def({
    name: "pulse_live_frames_total",
    type: "counter",
    help: "Frames sent to clients, by type (snapshot, delta, resumed, heartbeat, error).",
    labels: ["type"],
  }),
  bytes: def({
    name: "pulse_live_bytes_total",
    type: "counter",
    help: "Bytes of frames handed to client sockets.",
    labels: [],
  }),
  slowCloses: def({
    name: "pulse_live_slow_closes_total",
    type: "counter",
    help: "Clients closed with 1013 because they stayed behind past their byte bound.",
    labels: [],
  }),
  resumes: def({
    name: "pulse_live_resumes_total",
    type: "counter",
    help: "Subscriptions that came with a since: resumed (the gap was filled) or reset (a fresh snapshot).",
    labels: ["result"],
  }),
  lag: def({
    name: "pulse_live_lag_seconds",
    type: "histogram",
    help: "From a change's commit (its at) to the tick that hands it to client sockets.",
    labels: [],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  seq: def({
    name: "pulse_live_stream_seq",
    type: "gauge",
    help: "Last LIVE stream sequence applied to this gateway's state.",
    labels: [],
  }),
  behind: def({
    name: "pulse_live_behind",
    type: "gauge",
    help: "1 while heartbeats say the data is behind (NATS or the database unreachable, the relay or the stream behind).",
    labels: [],
  }),
  rejected: def({
    name: "pulse_live_rejected_total",
    type: "counter",
    help: "Connections refused (unauthorized, origin) and client frames refused (by error code).",
    labels: ["reason"],
  }),
  rebuilds: def({
    name: "pulse_live_state_loads_total",
    type: "counter",
    help: "Times the in-memory state was read from Postgres (start, and after a gap in LIVE).",
    labels: [],
  }),
  keys: def({
    name: "pulse_live_keys",
    type: "gauge",
    help: "Keys held in the gateway's in-memory state.",
    labels: [],
  }),
} as const;

/** Results of `pulse_live_resumes_total`. */
export const resumeResults = ["resumed", "reset"] as const;

/** The HTTPS door for producers (services/feeds-http). */
export const feedsHttpMetrics = {
  requests: def({
    name: "pulse_feeds_http_requests_total",
    type: "counter",
    help: "Requests answered by the HTTPS door, by route (post, status, other) and HTTP status code.",
    labels: ["route", "code"],
  }),
  lines: def({
    name: "pulse_feeds_http_lines_total",
    type: "counter",
    help: "Lines received through the door, by feed and verdict (accepted, duplicate, refused, unsettled, not_sent).",
    labels: ["feed", "outcome"],
  }),
  duration: def({
    name: "pulse_feeds_http_request_duration_seconds",
    type: "histogram",
    help: "From a POST's headers to its answer (every line settled).",
    labels: [],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  }),
  inFlight: def({
    name: "pulse_feeds_http_in_flight",
    type: "gauge",
    help: "Records published by the door and not yet settled.",
    labels: [],
  }),
} as const;

/** Verdicts of `pulse_feeds_http_lines_total`: the keys of a door's answer. */
export const doorOutcomes = ["accepted", "duplicate", "refused", "unsettled", "not_sent"] as const;
export type DoorOutcome = (typeof doorOutcomes)[number];
