-- The global log: every record carries a commit key, and the basin's records are read in
-- (commit_key, stream_id, seq_num) order, only below the horizon pg_snapshot_xmin(pg_current_snapshot()).
--
-- A record's commit key is the greater of its transaction's id and the stream's previous commit key
-- (streams.last_key), set under the stream's row lock. So:
--   * a key is never below its own transaction id: every key under the horizon belongs to a transaction that
--     has ended, and every record that commits later gets a key at or above the horizon a reader saw, so a
--     reader that delivered everything below the horizon can never be passed by a late commit;
--   * a stream's keys never decrease along its seqNums, so the global order keeps every stream's order even
--     when a transaction took its id before waiting for the stream's row lock (ordering by the transaction
--     id alone breaks there: an older transaction can append later seqNums).
-- Records written before this migration get key 0: they come first, in stream order.
alter table streams add column last_key xid8 not null default '0';
alter table records add column commit_key xid8 not null default '0';
create index records_global on records (commit_key, stream_id, seq_num);
