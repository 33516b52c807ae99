-- The global log's index holds one entry per append, not one per record.
--
-- The first record an append writes to a stream carries `span`, the number of records that append wrote to
-- that stream (1-1000); every other record has null. `records_appends` indexes only those first records, in
-- (commit_key, stream_id, seq_num) order. All records of one append to one stream share its commit key and
-- follow its first record without a gap, so a global read walks this index and takes each append's records
-- from the primary key: (f.stream_id, f.seq_num) up to f.seq_num + f.span. The order is the one of
-- 0002_global_log.sql, unchanged.
--
-- A per-record index entry cost about a sixth of a 100-record batch append here (its inserts and WAL); now a
-- batch pays for one entry, and a 1-record append for the one it paid before.
--
-- The sweep keeps this true when it deletes a first record whose append goes on above the deleted range:
-- the record right above the range becomes the first, with the rest of the span (src/log/sweep.ts).
--
-- Records written before this migration each become an append of their own (span 1): exact, one entry each.
alter table records add column span int;
update records set span = 1;
create index records_appends on records (commit_key, stream_id, seq_num) where span is not null;
drop index records_global;
