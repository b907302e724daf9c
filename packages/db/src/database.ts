import type { ColumnType, Generated, Kysely, Selectable } from "kysely";

type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface EventTable {
  source: string;
  id: string;
  feed: string;
  revision: number;
  ts: Timestamp;
  area: string;
  data: ColumnType<unknown, string, string>;
  received_at: Timestamp;
  stream_seq: number;
  prev_revision: number | null;
  prev_ts: Timestamp | null;
  prev_area: string | null;
  prev_data: ColumnType<unknown, string | null, string | null>;
}

export interface SubscriberGaugeTable {
  source: string;
  service: string;
  area: string;
  count: number;
  ts: Timestamp;
  revision: number;
  event_id: string;
  updated_at: Generated<Date>;
}

export interface BtsStationTable {
  source: string;
  station: string;
  tech: string;
  area: string;
  status: string;
  since: Timestamp;
  ts: Timestamp;
  revision: number;
  event_id: string;
  updated_at: Generated<Date>;
}

export interface EsignCountTable {
  grain: "minute" | "hour" | "day";
  bucket: Timestamp;
  source: string;
  agency: string;
  area: string;
  signed: boolean;
  signer: string;
  count: number;
}

export interface EgovCountTable {
  grain: "minute" | "hour" | "day";
  bucket: Timestamp;
  source: string;
  agency: string;
  level: string;
  channel: string;
  status: string;
  area: string;
  count: number;
}

export interface FeedStatusTable {
  source: string;
  feed: string;
  last_received_at: Timestamp;
  last_event_ts: Timestamp | null;
  events: number;
}

export interface DeadLetterTable {
  id: Generated<number>;
  stream: string;
  stream_seq: number;
  received_at: Timestamp;
  subject: string;
  source: string | null;
  feed: string | null;
  event_id: string | null;
  revision: number | null;
  reason: string;
  detail: string;
  payload: Uint8Array;
  created_at: Generated<Date>;
  retried_at: Timestamp | null;
  /** Times `pulse dlq retry` sent it again. */
  retries: Generated<number>;
  /** Retries that came back refused (part of the next retry's Msg-Id). */
  retry_refusals: Generated<number>;
  retry_outcome: "submitted" | "accepted" | "duplicate" | "refused" | "unsettled" | null;
  retry_detail: string | null;
  /** Stream sequence of the last retry's message. */
  retry_stream_seq: number | null;
  /** The dead letter the last retry became, when it was refused again. */
  retry_dead_letter_id: number | null;
}

export interface ChangeTable {
  id: Generated<number>;
  metric: string;
  entries: ColumnType<unknown, string, string>;
  created_at: Generated<Date>;
}

export interface RelayCursorTable {
  name: string;
  last_id: number;
}

/** A row moved out of its table because its area was not in force on its own day (`pulse areas retired`). */
export interface RetiredRowTable {
  id: Generated<number>;
  table_name: string;
  area: string;
  day: ColumnType<Date, string, string>;
  row: ColumnType<unknown, string, string>;
  retired_at: Generated<Date>;
}

export interface Database {
  events: EventTable;
  subscriber_gauges: SubscriberGaugeTable;
  bts_stations: BtsStationTable;
  esign_counts: EsignCountTable;
  egov_counts: EgovCountTable;
  feed_status: FeedStatusTable;
  dead_letters: DeadLetterTable;
  changes: ChangeTable;
  relay_cursor: RelayCursorTable;
  retired_rows: RetiredRowTable;
}

export type EventRow = Selectable<EventTable>;
export type SubscriberGauge = Selectable<SubscriberGaugeTable>;
export type BtsStation = Selectable<BtsStationTable>;
export type DeadLetter = Selectable<DeadLetterTable>;
export type Change = Selectable<ChangeTable>;

/** What repository functions take first: the pool's Kysely or a transaction. */
export type Executor = Kysely<Database>;
