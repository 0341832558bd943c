-- Claims walk only what is waiting, in order: the updates a status at a time
-- in arrival order, the actions a status at a time in id order. Before,
-- both scanned every row ever stored (done ones too) on every claim:
-- minutes of lag behind a backlog on a database with history. The
-- actions' replaces an index no query used.
CREATE INDEX updates_claim ON updates (status, seq);
DROP INDEX actions_ready ON actions;
CREATE INDEX actions_claim ON actions (status, id);
