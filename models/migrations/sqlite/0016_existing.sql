-- Existing groups (issue 16). strangers: people inside a gated chat whom
-- no member is linked to, as an audit listed them or the bot saw them in
-- the group; first_seen_at starts the clock of strangers: remove_after,
-- told_at says when they were told so (once). chats: how many people
-- Telegram last said were inside besides the admins (getChatMemberCount
-- minus getChatAdministrators), and when; audit_on: a userbot account of
-- the pool was let in to audit a group the bot was bound to by hand.
CREATE TABLE strangers (
    chat_key      TEXT     NOT NULL,
    tg_user_id    INTEGER  NOT NULL,
    first_seen_at DATETIME NOT NULL,
    last_seen_at  DATETIME NOT NULL,
    seen_by       TEXT     NOT NULL,
    told_at       DATETIME,
    PRIMARY KEY (chat_key, tg_user_id)
);
CREATE INDEX strangers_first_seen ON strangers (first_seen_at);
ALTER TABLE chats ADD COLUMN people_inside INTEGER;
ALTER TABLE chats ADD COLUMN people_counted_at DATETIME;
ALTER TABLE chats ADD COLUMN audit_on BOOLEAN NOT NULL DEFAULT 0;
