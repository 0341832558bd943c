-- Log in with Telegram over OpenID Connect (issue 18). A login karmagate
-- started waits here, keyed by a hash of its state (the browser holds the
-- state; the PKCE verifier and the nonce are derived from it under a key
-- from the master secret, so no secret of the login is stored); Telegram's
-- answer spends the row by one conditional UPDATE.
CREATE TABLE oidc_logins (
    state_hash BLOB     NOT NULL PRIMARY KEY,
    member_ext TEXT     NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at    DATETIME
);
CREATE INDEX oidc_logins_expires ON oidc_logins (expires_at);

-- The phone number Telegram vouched for, per Telegram account (the ID
-- token's phone_number claim, given when the person granted the phone
-- scope): the account's phone is known without any contact import.
CREATE TABLE telegram_phones (
    tg_user_id  INTEGER  NOT NULL PRIMARY KEY,
    phone       TEXT     NOT NULL,
    via         TEXT     NOT NULL,
    verified_at DATETIME NOT NULL
);
