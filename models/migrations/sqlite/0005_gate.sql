-- Dry run: a chat bound over a group that already had members starts
-- holding its removals (actions with status 'held') until an admin
-- confirms them; the first confirmation ends it. The rules file's dry_run
-- and KARMAGATE_DRY_RUN hold removals too, but live in the configuration.
ALTER TABLE chats ADD COLUMN dry_run BOOLEAN NOT NULL DEFAULT 0;
