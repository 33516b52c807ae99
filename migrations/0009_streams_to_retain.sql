-- The streams the sweep's retention pass looks at: those whose config gives a retention age, or a
-- deleteOnEmpty age other than 0 (0 is off, as in S2). A basin-wide setting puts every stream of the basin
-- here, so the pass walks this index by id, a page at a time, from a cursor it keeps between runs
-- (src/log/sweep.ts), instead of scanning the whole streams table each run.
--
-- A partial index rather than a stored "next due" column: appends never change `config`, so they keep their
-- HOT updates of the stream row and pay nothing for it, where a due column would have to be kept right by
-- every append and trim. Whether a stream has work is decided per page, from the stream row and the record
-- at its trim point (one index probe), in the same statement.
--
-- The pass's query repeats this predicate word for word, so that the planner can use the index.
create index streams_to_retain on streams (id)
  where (config -> 'retentionPolicy') ? 'age' or (config -> 'deleteOnEmpty' -> 'minAgeSecs') > '0'::jsonb;
