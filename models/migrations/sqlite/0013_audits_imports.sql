-- An audit's outcome as fields, one row per chat.audited event: a
-- reconcile pass reads it back from here, not from the event's sentence.
CREATE TABLE audits (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   INTEGER NOT NULL,
    at         DATETIME NOT NULL,
    chat_key   TEXT NOT NULL,
    present    INTEGER NOT NULL DEFAULT 0,
    admins     INTEGER NOT NULL DEFAULT 0,
    joined     INTEGER NOT NULL DEFAULT 0,
    gone       INTEGER NOT NULL DEFAULT 0,
    strangers  INTEGER NOT NULL DEFAULT 0,
    invites    INTEGER NOT NULL DEFAULT 0,
    uninvites  INTEGER NOT NULL DEFAULT 0,
    warnings   INTEGER NOT NULL DEFAULT 0,
    removals   INTEGER NOT NULL DEFAULT 0,
    flags      INTEGER NOT NULL DEFAULT 0,
    other      INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX audits_chat_at ON audits (chat_key, at);

-- Phones a userbot account imported as contacts to look them up: the
-- pool keeps each account under its daily budget across restarts.
CREATE TABLE userbot_imports (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    userbot_id INTEGER NOT NULL,
    at         DATETIME NOT NULL
);
CREATE INDEX userbot_imports_at ON userbot_imports (at, userbot_id);
