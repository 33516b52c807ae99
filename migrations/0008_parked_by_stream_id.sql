-- A parked record is identified by its stream's id, not its name: a stream deleted and created again under the
-- same name starts at seqNum 0 again, and under the key (basin, consumer, stream, seq_num) of
-- 0003_consumers.sql parking its record overwrote the one parked from the stream before (`on conflict do
-- update`). A stream id is never reused, and every row already has one: no row changes.
alter table parked_records drop constraint parked_records_pkey;
alter table parked_records add primary key (basin, consumer, stream_id, seq_num);
