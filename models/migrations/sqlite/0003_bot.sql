-- The bot: deep-link tokens, Login Widget replays, stored updates, at-most-once
-- notifications, per-chat join links and per-member links.

CREATE TABLE link_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY,
    member_id  INTEGER NOT NULL,
    member_ext TEXT    NOT NULL,
    expect_tg_user_id  INTEGER,
    expect_tg_username TEXT,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME,
    used_by    INTEGER,
    created_at DATETIME NOT NULL
);
CREATE INDEX link_tokens_expires ON link_tokens (expires_at);
CREATE INDEX link_tokens_member ON link_tokens (member_id);

CREATE TABLE widget_logins (
    hash       TEXT NOT NULL PRIMARY KEY,
    expires_at DATETIME NOT NULL
);

CREATE TABLE updates (
    update_id   INTEGER NOT NULL PRIMARY KEY,
    lane        INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until DATETIME,
    last_error  TEXT    NOT NULL DEFAULT '',
    not_before  DATETIME NOT NULL,
    received_at DATETIME NOT NULL,
    done_at     DATETIME
);
CREATE INDEX updates_ready ON updates (status, not_before);
CREATE INDEX updates_lane ON updates (lane, status, update_id);
CREATE INDEX updates_order ON updates (status, update_id);

CREATE TABLE notifications (
    idem_key   TEXT    NOT NULL PRIMARY KEY,
    tg_user_id INTEGER NOT NULL,
    member_ext TEXT,
    kind       TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    done_at    DATETIME
);
CREATE INDEX notifications_user ON notifications (tg_user_id, created_at);

CREATE TABLE member_links (
    member_id  INTEGER NOT NULL,
    chat_key   TEXT    NOT NULL,
    link       TEXT    NOT NULL,
    expires_at DATETIME NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (member_id, chat_key)
);

ALTER TABLE members ADD COLUMN language_code TEXT;
ALTER TABLE members ADD COLUMN unreachable_at DATETIME;

ALTER TABLE chat_states ADD COLUMN tag TEXT;

ALTER TABLE chats ADD COLUMN join_link TEXT;
ALTER TABLE chats ADD COLUMN bot_status TEXT NOT NULL DEFAULT '';
ALTER TABLE chats ADD COLUMN can_invite BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN can_restrict BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN can_manage_tags BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN guard BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE chats ADD COLUMN bound_by INTEGER;

CREATE INDEX members_phone ON members (phone);

-- A message the bot sends from the outbox (a notify action): its text and key.
ALTER TABLE actions ADD COLUMN payload TEXT;
