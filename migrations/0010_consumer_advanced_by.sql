-- Which running instance last advanced a consumer's checkpoint (a random id per `run()`, null after a reset).
--
-- A batch's COMMIT can lose its connection while the server is still committing it. The instance then finds
-- the checkpoint unmoved, retries, and its retry waits for the first transaction's row lock; when that
-- transaction commits after all, the retry finds the checkpoint one version on, at its own batch's end. The
-- version and the position alone cannot tell that commit from another instance's commit of the same batch;
-- this column can: the instance goes on when it was its own, and is told of the conflict when it was not.
alter table consumers add column advanced_by uuid;
