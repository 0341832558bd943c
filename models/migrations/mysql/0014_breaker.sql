-- The removal breaker (max_removals): why a removal is or was held
-- ('dry_run' or 'breaker'; '' for one never held), and when the chat's
-- breaker opened (NULL while it is closed), and when an admin last closed it
-- (removals started before then no longer count). Removals that started without
-- being held are what the cap counts within its window.
ALTER TABLE actions ADD COLUMN hold VARCHAR(16) NOT NULL DEFAULT '';
UPDATE actions SET hold = 'dry_run' WHERE status = 'held';
ALTER TABLE chats ADD COLUMN breaker_at DATETIME(6) NULL;
ALTER TABLE chats ADD COLUMN breaker_reset_at DATETIME(6) NULL;
