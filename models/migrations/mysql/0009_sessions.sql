-- Dashboard sessions, recorded so that signing out, "sign out everywhere"
-- and a changed password end them. The cookie carries a random token; a row
-- keeps only a keyed hash of it (HMAC-SHA256 under a key derived from
-- KARMAGATE_SECRET), and the fingerprint of the credential the admin signed
-- in with: a session whose credential has changed since is no longer valid.
CREATE TABLE dashboard_sessions (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    token_hash  VARCHAR(64)  NOT NULL,
    user_name   VARCHAR(64)  NOT NULL,
    credential  VARCHAR(64)  NOT NULL,
    remote      VARCHAR(64)  NOT NULL DEFAULT '',
    created_at  DATETIME(6)  NOT NULL,
    expires_at  DATETIME(6)  NOT NULL,
    UNIQUE KEY dashboard_sessions_token (token_hash),
    KEY dashboard_sessions_user (user_name),
    KEY dashboard_sessions_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
