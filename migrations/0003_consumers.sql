-- Durable consumers of the global log, and the basin-level mark that makes appends notify basin-wide followers.

-- Followers of a whole basin in other processes want a NOTIFY on every append to it until this time (see
-- src/subscriptions/basin-watch.ts). Appends to a basin nobody follows pay one primary-key probe of this table.
alter table basins add column watched_until timestamptz;

-- A named consumer's checkpoint: it has handled every record of its basin up to and including the position
-- (commit_key, stream_id, seq_num) in global order. Position (0, 0, -1) is the start. `version` grows with every
-- change of the position; an advance is a compare-and-set on it, so of two instances only one commits a batch.
create table consumers (
  basin text not null references basins (name) on delete cascade,
  name text collate "C" not null,
  commit_key xid8 not null default '0',
  stream_id bigint not null default 0,
  seq_num bigint not null default -1,
  version bigint not null default 0,
  -- The last handler failure that stopped the consumer (cleared by the next advance or a reset).
  last_error text,
  created_at timestamptz not null default clock_timestamp(),
  updated_at timestamptz not null default clock_timestamp(),
  primary key (basin, name)
);

-- Records a consumer gave up on (its handler failed on them every attempt) and stepped over, kept for a person
-- to look at. Parking and the checkpoint's advance past the record commit together.
create table parked_records (
  basin text not null,
  consumer text collate "C" not null,
  stream text collate "C" not null,
  seq_num bigint not null,
  commit_key xid8 not null,
  stream_id bigint not null,
  attempts integer not null,
  error text not null,
  parked_at timestamptz not null default clock_timestamp(),
  primary key (basin, consumer, stream, seq_num),
  foreign key (basin, consumer) references consumers (basin, name) on delete cascade
);
