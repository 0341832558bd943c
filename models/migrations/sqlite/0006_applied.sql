-- An update's effect on the store, recorded in the transaction that applies
-- it: a membership change whose update is handled again (its processor was
-- killed after the change committed but before the update was marked done,
-- and its lease ran out) is then a no-op instead of a second join or leave.
ALTER TABLE updates ADD COLUMN applied_at DATETIME;
