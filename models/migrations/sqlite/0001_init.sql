CREATE TABLE members (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    external_id TEXT    NOT NULL UNIQUE,
    karma       INTEGER NOT NULL DEFAULT 0,
    group_list  TEXT    NOT NULL DEFAULT '',
    name        TEXT,
    phone       TEXT,
    username    TEXT,
    tg_user_id  INTEGER,
    tg_username TEXT,
    linked_at   DATETIME,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

CREATE UNIQUE INDEX members_tg_user_id ON members (tg_user_id) WHERE tg_user_id IS NOT NULL;

CREATE TABLE chat_states (
    member_id   INTEGER NOT NULL,
    chat_key    TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    in_chat     BOOLEAN NOT NULL DEFAULT 0,
    grace_until DATETIME,
    version     INTEGER NOT NULL DEFAULT 0,
    changed_at  DATETIME NOT NULL,
    PRIMARY KEY (member_id, chat_key)
);
CREATE INDEX chat_states_grace ON chat_states (grace_until) WHERE state = 'grace';

CREATE TABLE overrides (
    member_id  INTEGER NOT NULL,
    chat_key   TEXT    NOT NULL,
    mode       TEXT    NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (member_id, chat_key)
);

CREATE TABLE actions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key    TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    member_ext  TEXT    NOT NULL,
    chat_key    TEXT    NOT NULL,
    tg_user_id  INTEGER,
    state_version INTEGER NOT NULL DEFAULT 0,
    reason      TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  DATETIME NOT NULL,
    lease_owner TEXT,
    lease_until DATETIME,
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);
CREATE INDEX actions_ready ON actions (status, not_before);
CREATE INDEX actions_pair ON actions (member_ext, chat_key, status);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         DATETIME NOT NULL,
    actor      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    member_ext TEXT,
    chat_key   TEXT,
    from_state TEXT,
    to_state   TEXT,
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_member ON events (member_ext, id);
CREATE INDEX events_chat ON events (chat_key, id) WHERE chat_key IS NOT NULL;

CREATE TABLE chats (
    chat_key   TEXT PRIMARY KEY,
    tg_chat_id INTEGER UNIQUE,
    title      TEXT NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL
);

CREATE TABLE meta (
    k TEXT PRIMARY KEY,
    v TEXT NOT NULL
);
