-- A snapshot is one aggregate's: two aggregates (deciders) may read the same stream with states of different
-- shapes, and one's snapshot must never be loaded as the other's state. Snapshots are keyed by the aggregate's
-- name too. Those stored before name no aggregate and are dropped: they are caches of the events, and the
-- next load that passes `every` events takes a new one.
delete from snapshots;
alter table snapshots add column aggregate text collate "C" not null;
alter table snapshots drop constraint snapshots_pkey;
alter table snapshots add primary key (stream_id, aggregate, schema_version);
