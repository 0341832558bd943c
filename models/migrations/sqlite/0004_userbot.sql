-- The userbot pool: Telegram user accounts that create and administer the
-- gated groups. Sessions and logins in progress are sealed (vault): no auth
-- key, phone_code_hash or code is stored in the clear.

CREATE TABLE userbots (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    phone        TEXT    NOT NULL,
    tg_user_id   INTEGER,
    username     TEXT,
    name         TEXT    NOT NULL DEFAULT '',
    state        TEXT    NOT NULL,
    session      BLOB,
    login        BLOB,
    login_expires_at DATETIME,
    channels     INTEGER NOT NULL DEFAULT 0,
    channel_cap  INTEGER NOT NULL DEFAULT 500,
    peer_flood_at DATETIME,
    last_error   TEXT    NOT NULL DEFAULT '',
    lease_owner  TEXT,
    lease_until  DATETIME,
    ready_at     DATETIME,
    created_at   DATETIME NOT NULL,
    updated_at   DATETIME NOT NULL
);
CREATE UNIQUE INDEX userbots_tg_user ON userbots (tg_user_id) WHERE tg_user_id IS NOT NULL;

-- FLOOD_WAIT_X: the method may not be called by the account before until.
CREATE TABLE userbot_waits (
    userbot_id INTEGER NOT NULL,
    method     TEXT    NOT NULL,
    until      DATETIME NOT NULL,
    PRIMARY KEY (userbot_id, method)
);

-- Access hashes of the users and supergroups each account has seen.
CREATE TABLE userbot_peers (
    userbot_id  INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    peer_id     INTEGER NOT NULL,
    access_hash INTEGER NOT NULL,
    username    TEXT,
    seen_at     DATETIME NOT NULL,
    PRIMARY KEY (userbot_id, kind, peer_id)
);
CREATE INDEX userbot_peers_peer ON userbot_peers (kind, peer_id);

-- Groups the pool creates: a row before channels.createChannel, completed
-- with the channel once it exists, so that a crash in between finds the
-- group in the account's dialogs instead of creating a second one.
CREATE TABLE userbot_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    userbot_id  INTEGER NOT NULL,
    chat_key    TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    started_at  DATETIME NOT NULL,
    channel_id  INTEGER,
    access_hash INTEGER,
    done_at     DATETIME
);
CREATE INDEX userbot_groups_chat ON userbot_groups (chat_key, id);
CREATE INDEX userbot_groups_account ON userbot_groups (userbot_id, started_at);

CREATE INDEX actions_chat_kind ON actions (chat_key, kind, status);
