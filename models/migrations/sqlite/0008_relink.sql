-- Relinking needs the old account (issue 13): a deep link, Login Widget
-- payload or shared contact that would move a linked member to another
-- Telegram account records a request here and moves nothing; the account
-- linked now confirms or refuses it with a button. A deep link the website
-- issued with {"replace": true} moves the member without asking.
CREATE TABLE relinks (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id      INTEGER  NOT NULL,
    member_ext     TEXT     NOT NULL,
    old_tg_user_id INTEGER  NOT NULL,
    new_tg_user_id INTEGER  NOT NULL,
    new_username   TEXT,
    new_language   TEXT,
    new_name       TEXT     NOT NULL DEFAULT '',
    via            TEXT     NOT NULL,
    status         TEXT     NOT NULL,
    expires_at     DATETIME NOT NULL,
    created_at     DATETIME NOT NULL,
    decided_at     DATETIME
);
CREATE INDEX relinks_member ON relinks (member_id, status);
ALTER TABLE link_tokens ADD COLUMN replace_link INTEGER NOT NULL DEFAULT 0;
