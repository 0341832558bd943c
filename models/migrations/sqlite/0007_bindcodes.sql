-- One-time bind codes: a site admin issues one for a chat key, and whoever
-- holds it may /bind (or /unbind) that key once, within 15 minutes. Only a
-- hash of the code is kept; it is spent by one conditional UPDATE.
CREATE TABLE bind_codes (
    hash       BLOB    NOT NULL PRIMARY KEY,
    chat_key   TEXT    NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME,
    used_by    INTEGER,
    created_by TEXT    NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX bind_codes_chat ON bind_codes (chat_key, expires_at);
