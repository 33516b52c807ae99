-- The stream log. Runs with search_path set to fencepost's schema; every name here is unqualified.

-- Timestamping modes, as stored in streams.ts_mode: 0 client-prefer, 1 client-require, 2 arrival.
create table basins (
  name text collate "C" primary key,
  config jsonb not null default '{}',
  create_stream_on_append boolean not null default false,
  create_stream_on_read boolean not null default false,
  ts_mode smallint not null default 0,
  ts_uncapped boolean not null default false,
  created_at timestamptz not null default clock_timestamp()
);

create table streams (
  id bigint generated always as identity primary key,
  basin text not null references basins (name) on delete cascade,
  name text collate "C" not null,
  -- The next sequence number to assign: the tail.
  next_seq bigint not null default 0,
  -- The timestamp of the last record, and of the last record before the latest append (the append statement
  -- needs the old value to give the batch's records monotonic timestamps, and RETURNING only shows new values).
  last_ts bigint not null default 0,
  prev_last_ts bigint not null default 0,
  fencing_token text not null default '',
  -- Records below this sequence number are trimmed: invisible at once, deleted by the sweep, which has deleted
  -- every record below `swept`.
  trim_point bigint not null default 0,
  swept bigint not null default 0,
  ts_mode smallint not null default 0,
  ts_uncapped boolean not null default false,
  config jsonb not null default '{}',
  -- Followers in other processes want a NOTIFY on append until this time (see follow).
  watched_until timestamptz,
  created_at timestamptz not null default clock_timestamp(),
  unique (basin, name)
);

create index streams_to_sweep on streams (id) where swept < trim_point;

create table records (
  stream_id bigint not null,
  seq_num bigint not null,
  timestamp bigint not null,
  -- Header names and values, flattened: [name1, value1, name2, value2, ...]: as text when every one of the
  -- batch's is valid UTF-8 without NUL, else as bytes; the other column is null (both are when there are none).
  headers bytea[],
  headers_text text[],
  body bytea not null,
  -- The metered size (8 + 2 per header + header and body bytes), for reads bounded by bytes.
  size integer not null,
  -- The body is valid UTF-8 without NUL: a read asking for strings gets it as text from the server.
  body_utf8 boolean not null,
  primary key (stream_id, seq_num)
);

insert into basins (name, create_stream_on_append, create_stream_on_read, config)
values ('default-basin', true, false, '{"createStreamOnAppend":true}');
