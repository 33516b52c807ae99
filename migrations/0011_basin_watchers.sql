-- The basin marks of idle basin-wide followers, one row per basin and marking process (`watcher`: a random id
-- per connected log), each good until `watched_until` (see src/subscriptions/basin-watch.ts). While a basin
-- has a row not yet lapsed, appending processes notify after their appends to it (src/log/basin-marks.ts).
--
-- Before, a mark was `basins.watched_until`, one value that every marking process overwrote. A process whose
-- followers found records again could not take its mark away without taking away another process's too, so
-- it let the mark lapse: for up to a second, appending processes went on notifying, and every notification
-- woke every listening process, also the busy follower that no longer waited for it. With a row per process,
-- a process deletes its own row as soon as none of its followers is idle.
--
-- `basins.watched_until` stays, and appending processes still read it: followers of an earlier version, still
-- running during an upgrade, mark basins there.
create table basin_watchers (
  basin text collate "C" not null references basins (name) on delete cascade,
  watcher uuid not null,
  watched_until timestamptz not null,
  primary key (basin, watcher)
);
