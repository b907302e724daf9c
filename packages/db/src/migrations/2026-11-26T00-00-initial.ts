import { sql, type Kysely } from "kysely";

// Plain SQL: the schema is the contract with Grafana's Postgres datasource, so it should read
// as SQL. Every time is timestamptz; day buckets are computed in Asia/Ho_Chi_Minh explicitly.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE events (
      source        text        NOT NULL,
      id            text        NOT NULL,
      feed          text        NOT NULL,
      revision      integer     NOT NULL,
      ts            timestamptz NOT NULL,
      area          text        NOT NULL,
      -- json, not jsonb: written once per record and read back only for a restatement; the
      -- decoder has already checked it, and jsonb's conversion was a measurable share of a batch.
      data          json        NOT NULL,
      received_at   timestamptz NOT NULL,
      stream_seq    bigint      NOT NULL,
      -- The version this one replaced, so a restatement can take its contribution out.
      prev_revision integer,
      prev_ts       timestamptz,
      prev_area     text,
      prev_data     json,
      PRIMARY KEY (source, id)
    )`.execute(db);
  await sql`CREATE INDEX events_received_at ON events (received_at)`.execute(db);
  // Recomputing one gauge key after a restatement reads the latest reading of that key.
  await sql`CREATE INDEX events_subscribers_key ON events (source, (data->>'service'), area, ts DESC) WHERE feed = 'subscribers'`.execute(
    db,
  );
  await sql`CREATE INDEX events_bts_key ON events (source, (data->>'station'), ts DESC) WHERE feed = 'bts'`.execute(db);

  await sql`
    CREATE TABLE subscriber_gauges (
      source     text        NOT NULL,
      service    text        NOT NULL,
      area       text        NOT NULL,
      count      bigint      NOT NULL,
      ts         timestamptz NOT NULL,
      revision   integer     NOT NULL,
      event_id   text        NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source, service, area)
    )`.execute(db);

  await sql`
    CREATE TABLE bts_stations (
      source     text        NOT NULL,
      station    text        NOT NULL,
      tech       text        NOT NULL,
      area       text        NOT NULL,
      status     text        NOT NULL,
      -- When the station entered its current status (how long a station has been down).
      since      timestamptz NOT NULL,
      ts         timestamptz NOT NULL,
      revision   integer     NOT NULL,
      event_id   text        NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source, station)
    )`.execute(db);
  await sql`CREATE INDEX bts_stations_group ON bts_stations (source, tech, area, status)`.execute(db);

  await sql`
    CREATE TABLE esign_counts (
      grain   text        NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
      bucket  timestamptz NOT NULL,
      source  text        NOT NULL,
      agency  text        NOT NULL,
      area    text        NOT NULL,
      signed  boolean     NOT NULL,
      signer  text        NOT NULL,
      count   bigint      NOT NULL,
      PRIMARY KEY (grain, bucket, source, agency, area, signed, signer)
    )`.execute(db);

  await sql`
    CREATE TABLE egov_counts (
      grain   text        NOT NULL CHECK (grain IN ('minute', 'hour', 'day')),
      bucket  timestamptz NOT NULL,
      source  text        NOT NULL,
      agency  text        NOT NULL,
      level   text        NOT NULL,
      channel text        NOT NULL,
      status  text        NOT NULL,
      area    text        NOT NULL,
      count   bigint      NOT NULL,
      PRIMARY KEY (grain, bucket, source, agency, level, channel, status, area)
    )`.execute(db);

  await sql`
    CREATE TABLE feed_status (
      source           text        NOT NULL,
      feed             text        NOT NULL,
      last_received_at timestamptz NOT NULL,
      last_event_ts    timestamptz,
      events           bigint      NOT NULL DEFAULT 0,
      PRIMARY KEY (source, feed)
    )`.execute(db);

  await sql`
    CREATE TABLE dead_letters (
      id          bigserial   PRIMARY KEY,
      stream      text        NOT NULL,
      stream_seq  bigint      NOT NULL,
      -- The broker's receipt time: with stream and stream_seq it names one message, even across
      -- a stream that was deleted and created again.
      received_at timestamptz NOT NULL,
      subject     text        NOT NULL,
      source      text,
      feed        text,
      event_id    text,
      revision    integer,
      reason      text        NOT NULL,
      detail      text        NOT NULL,
      payload     bytea       NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      retried_at  timestamptz,
      UNIQUE (stream, stream_seq, received_at)
    )`.execute(db);
  await sql`CREATE INDEX dead_letters_reason ON dead_letters (reason) WHERE retried_at IS NULL`.execute(db);

  await sql`
    CREATE TABLE changes (
      id         bigserial   PRIMARY KEY,
      metric     text        NOT NULL,
      entries    json        NOT NULL, -- relayed as text, never queried
      created_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE relay_cursor (
      name    text   PRIMARY KEY,
      last_id bigint NOT NULL
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of [
    "relay_cursor",
    "changes",
    "dead_letters",
    "feed_status",
    "egov_counts",
    "esign_counts",
    "bts_stations",
    "subscriber_gauges",
    "events",
  ]) {
    await sql`DROP TABLE IF EXISTS ${sql.table(t)}`.execute(db);
  }
}
