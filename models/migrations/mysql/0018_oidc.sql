-- Log in with Telegram over OpenID Connect (issue 18). A login karmagate
-- started waits here, keyed by a hash of its state (the browser holds the
-- state; the PKCE verifier and the nonce are derived from it under a key
-- from the master secret, so no secret of the login is stored); Telegram's
-- answer spends the row by one conditional UPDATE.
CREATE TABLE oidc_logins (
    state_hash VARBINARY(32) NOT NULL PRIMARY KEY,
    member_ext VARCHAR(64)   NOT NULL,
    created_at DATETIME(6)   NOT NULL,
    expires_at DATETIME(6)   NOT NULL,
    used_at    DATETIME(6),
    KEY oidc_logins_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The phone number Telegram vouched for, per Telegram account (the ID
-- token's phone_number claim, given when the person granted the phone
-- scope): the account's phone is known without any contact import.
CREATE TABLE telegram_phones (
    tg_user_id  BIGINT      NOT NULL PRIMARY KEY,
    phone       VARCHAR(16) NOT NULL,
    via         VARCHAR(16) NOT NULL,
    verified_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
