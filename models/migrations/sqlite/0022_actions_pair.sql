-- actions_pair (member_ext, chat_key, status) dates from before actions
-- belonged to a member row (0002): every lookup of a member's actions
-- since goes by member_id (actions_member). What still filters on
-- member_ext, Store.Actions (a member's actions, for tests; nothing in the
-- service calls it), scans the table instead. Every action queued paid
-- for the index: a tenth of a large reconcile pass on MariaDB, more on
-- SQLite.
DROP INDEX actions_pair;
