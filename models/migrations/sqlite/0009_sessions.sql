-- Dashboard sessions, recorded so that signing out, "sign out everywhere"
-- and a changed password end them. The cookie carries a random token; a row
-- keeps only a keyed hash of it (HMAC-SHA256 under a key derived from
-- KARMAGATE_SECRET), and the fingerprint of the credential the admin signed
-- in with: a session whose credential has changed since is no longer valid.
CREATE TABLE dashboard_sessions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT     NOT NULL,
    user_name   TEXT     NOT NULL,
    credential  TEXT     NOT NULL,
    remote      TEXT     NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    expires_at  DATETIME NOT NULL
);
CREATE UNIQUE INDEX dashboard_sessions_token ON dashboard_sessions (token_hash);
CREATE INDEX dashboard_sessions_user ON dashboard_sessions (user_name);
CREATE INDEX dashboard_sessions_expires ON dashboard_sessions (expires_at);
