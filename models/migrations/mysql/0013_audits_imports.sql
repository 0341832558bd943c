-- An audit's outcome as fields, one row per chat.audited event: a
-- reconcile pass reads it back from here, not from the event's sentence.
CREATE TABLE audits (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    event_id   BIGINT      NOT NULL,
    at         DATETIME(6) NOT NULL,
    chat_key   VARCHAR(64) NOT NULL,
    present    INT NOT NULL DEFAULT 0,
    admins     INT NOT NULL DEFAULT 0,
    joined     INT NOT NULL DEFAULT 0,
    gone       INT NOT NULL DEFAULT 0,
    strangers  INT NOT NULL DEFAULT 0,
    invites    INT NOT NULL DEFAULT 0,
    uninvites  INT NOT NULL DEFAULT 0,
    warnings   INT NOT NULL DEFAULT 0,
    removals   INT NOT NULL DEFAULT 0,
    flags      INT NOT NULL DEFAULT 0,
    other      INT NOT NULL DEFAULT 0,
    KEY audits_chat_at (chat_key, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Phones a userbot account imported as contacts to look them up: the
-- pool keeps each account under its daily budget across restarts.
CREATE TABLE userbot_imports (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    userbot_id BIGINT      NOT NULL,
    at         DATETIME(6) NOT NULL,
    KEY userbot_imports_at (at, userbot_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
