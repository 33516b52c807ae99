-- Exactly-once commands and aggregate snapshots.

-- One row per (stream, command id) appended by `appendMany` with a command id, inserted by the append
-- statement itself (so the deduplication holds in the appending transaction: a second append with the same
-- command id to the same stream fails on the key and writes nothing). It keeps the seqNum range the command's
-- records got, so its outcome can be read back from the stream.
create table commands (
  stream_id bigint not null references streams (id) on delete cascade,
  command_id text collate "C" not null,
  start_seq bigint not null,
  end_seq bigint not null,
  created_at timestamptz not null default clock_timestamp(),
  primary key (stream_id, command_id)
);

-- The newest snapshot of an aggregate's state per state schema version: `version` is the stream's next
-- seqNum after the last event folded into `state`.
create table snapshots (
  stream_id bigint not null references streams (id) on delete cascade,
  schema_version integer not null,
  version bigint not null,
  state jsonb not null,
  created_at timestamptz not null default clock_timestamp(),
  primary key (stream_id, schema_version)
);
