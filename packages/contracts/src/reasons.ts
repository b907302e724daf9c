/**
 * Why a message was refused. Each code is stored with the dead letter, counted in
 * `pulse_ingest_dead_letters_total{reason}` and told back to the producer on `rejects.<source>`.
 */
export const reasons = {
  bad_json: "the payload is not a JSON object",
  bad_shape: "a field is missing, of the wrong type, out of range, not allowed, or not well-formed Unicode",
  bad_subject: "the subject is not feeds.<feed>.<source>",
  unknown_source: "the source in the subject is not a registered producer",
  feed_not_allowed: "this source is not registered to publish this feed",
  source_mismatch: "the envelope's source differs from the subject's source token",
  too_large: "the payload is larger than the size limit",
  bad_time: "ts is not an RFC 3339 time with an offset (for example 2026-11-26T09:15:00+07:00)",
  future_time: "ts is further in the future than allowed, judged against the broker's receipt time",
  unknown_area: "area is not an official code this feed accepts on the record's date (another province's, or not yet in force)",
  retired_area: "area was an official code but no longer in force on the record's date: the detail names the units that replaced it",
  retired_agency: "the agency had ended by the record's date: the detail names its successor",
  retired_level: "the level of government had ended by the record's date (districts, after 2025-06-30)",
  id_conflict: "this source already used the id for a record of another feed (ids are unique per source)",
  max_deliveries: "the message was delivered the maximum number of times without being settled",
  db_rejected: "the database refused this message alone (its batch was committed without it)",
} as const;

export type Reason = keyof typeof reasons;
export const reasonCodes = Object.keys(reasons) as Reason[];

/** What a producer receives on `rejects.<source>`. */
export interface Reject {
  subject: string;
  id: string | null;
  revision: number | null;
  reason: Reason;
  detail: string;
  stream_seq: number;
  at: string;
}
