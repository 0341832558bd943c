-- Existing groups (issue 16). strangers: people inside a gated chat whom
-- no member is linked to, as an audit listed them or the bot saw them in
-- the group; first_seen_at starts the clock of strangers: remove_after,
-- told_at says when they were told so (once). chats: how many people
-- Telegram last said were inside besides the admins (getChatMemberCount
-- minus getChatAdministrators), and when; audit_on: a userbot account of
-- the pool was let in to audit a group the bot was bound to by hand.
CREATE TABLE strangers (
    chat_key      VARCHAR(64) NOT NULL,
    tg_user_id    BIGINT      NOT NULL,
    first_seen_at DATETIME(6) NOT NULL,
    last_seen_at  DATETIME(6) NOT NULL,
    seen_by       VARCHAR(32) NOT NULL,
    told_at       DATETIME(6),
    PRIMARY KEY (chat_key, tg_user_id),
    KEY strangers_first_seen (first_seen_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
ALTER TABLE chats ADD COLUMN people_inside INT NULL;
ALTER TABLE chats ADD COLUMN people_counted_at DATETIME(6) NULL;
ALTER TABLE chats ADD COLUMN audit_on BOOLEAN NOT NULL DEFAULT FALSE;
