-- The bot: deep-link tokens, Login Widget replays, stored updates, at-most-once
-- notifications, per-chat join links and per-member links.

CREATE TABLE link_tokens (
    hash       VARBINARY(32) NOT NULL PRIMARY KEY,
    member_id  BIGINT       NOT NULL,
    member_ext VARCHAR(64)  NOT NULL,
    expect_tg_user_id  BIGINT,
    expect_tg_username VARCHAR(64),
    expires_at DATETIME(6)  NOT NULL,
    used_at    DATETIME(6),
    used_by    BIGINT,
    created_at DATETIME(6)  NOT NULL,
    KEY link_tokens_expires (expires_at),
    KEY link_tokens_member (member_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE widget_logins (
    hash       VARCHAR(64) NOT NULL PRIMARY KEY,
    expires_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE updates (
    update_id   BIGINT       NOT NULL PRIMARY KEY,
    lane        BIGINT       NOT NULL,
    kind        VARCHAR(32)  NOT NULL,
    payload     MEDIUMTEXT   NOT NULL,
    status      VARCHAR(16)  NOT NULL,
    attempts    INT          NOT NULL DEFAULT 0,
    lease_owner VARCHAR(128),
    lease_until DATETIME(6),
    last_error  VARCHAR(1024) NOT NULL DEFAULT '',
    not_before  DATETIME(6)  NOT NULL,
    received_at DATETIME(6)  NOT NULL,
    done_at     DATETIME(6),
    KEY updates_ready (status, not_before),
    KEY updates_lane (lane, status, update_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE notifications (
    idem_key   VARCHAR(191) NOT NULL PRIMARY KEY,
    tg_user_id BIGINT       NOT NULL,
    member_ext VARCHAR(64),
    kind       VARCHAR(32)  NOT NULL,
    status     VARCHAR(16)  NOT NULL,
    detail     VARCHAR(1024) NOT NULL DEFAULT '',
    created_at DATETIME(6)  NOT NULL,
    done_at    DATETIME(6),
    KEY notifications_user (tg_user_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE member_links (
    member_id  BIGINT       NOT NULL,
    chat_key   VARCHAR(64)  NOT NULL,
    link       VARCHAR(255) NOT NULL,
    expires_at DATETIME(6)  NOT NULL,
    created_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (member_id, chat_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE members ADD COLUMN language_code VARCHAR(16), ADD COLUMN unreachable_at DATETIME(6);

ALTER TABLE chat_states ADD COLUMN tag VARCHAR(64);

ALTER TABLE chats ADD COLUMN join_link VARCHAR(255), ADD COLUMN bot_status VARCHAR(16) NOT NULL DEFAULT '',
    ADD COLUMN can_invite BOOLEAN NOT NULL DEFAULT FALSE, ADD COLUMN can_restrict BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN can_manage_tags BOOLEAN NOT NULL DEFAULT FALSE, ADD COLUMN guard BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN bound_by BIGINT;

CREATE INDEX members_phone ON members (phone);

-- A message the bot sends from the outbox (a notify action): its text and key.
ALTER TABLE actions ADD COLUMN payload TEXT;
