-- One-time bind codes: a site admin issues one for a chat key, and whoever
-- holds it may /bind (or /unbind) that key once, within 15 minutes. Only a
-- hash of the code is kept; it is spent by one conditional UPDATE.
CREATE TABLE bind_codes (
    hash       VARBINARY(32) NOT NULL PRIMARY KEY,
    chat_key   VARCHAR(64)   NOT NULL,
    expires_at DATETIME(6)   NOT NULL,
    used_at    DATETIME(6),
    used_by    BIGINT,
    created_by VARCHAR(128)  NOT NULL,
    created_at DATETIME(6)   NOT NULL,
    KEY bind_codes_chat (chat_key, expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
