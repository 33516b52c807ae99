-- Each record carries where it ends in its stream's metered bytes, so a read bounds a page by `bytes`
-- with a subtraction per record instead of a running sum.
--
-- streams.bytes: the metered bytes appended to the stream so far (the end of its last record).
-- records.end_bytes: the stream's metered bytes through this record. An append sets both under the stream's
-- row lock, from the client's per-record sizes. The bytes of records `a..b` of a stream are
-- end_bytes(b) - end_bytes(a) + size(a): only differences count, so deleted (trimmed) records change nothing.
--
-- The running sum that this replaces was half of a 2,000-record page's executor time here.
alter table streams add column bytes bigint not null default 0;
alter table records add column end_bytes bigint;
update records r set end_bytes = o.end_bytes
  from (select stream_id, seq_num, sum(size) over (partition by stream_id order by seq_num) as end_bytes
        from records) o
  where r.stream_id = o.stream_id and r.seq_num = o.seq_num;
update streams s set bytes = o.bytes
  from (select stream_id, max(end_bytes) as bytes from records group by stream_id) o
  where s.id = o.stream_id;
alter table records alter column end_bytes set not null;
