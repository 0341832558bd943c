-- The userbot pool: Telegram user accounts that create and administer the
-- gated groups. Sessions and logins in progress are sealed (vault): no auth
-- key, phone_code_hash or code is stored in the clear.

CREATE TABLE userbots (
    id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    phone        VARCHAR(32)  NOT NULL,
    tg_user_id   BIGINT,
    username     VARCHAR(64),
    name         VARCHAR(255) NOT NULL DEFAULT '',
    state        VARCHAR(32)  NOT NULL,
    session      BLOB,
    login        BLOB,
    login_expires_at DATETIME(6),
    channels     INT          NOT NULL DEFAULT 0,
    channel_cap  INT          NOT NULL DEFAULT 500,
    peer_flood_at DATETIME(6),
    last_error   VARCHAR(1024) NOT NULL DEFAULT '',
    lease_owner  VARCHAR(128),
    lease_until  DATETIME(6),
    ready_at     DATETIME(6),
    created_at   DATETIME(6)  NOT NULL,
    updated_at   DATETIME(6)  NOT NULL,
    UNIQUE KEY userbots_tg_user (tg_user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- FLOOD_WAIT_X: the method may not be called by the account before until.
CREATE TABLE userbot_waits (
    userbot_id BIGINT      NOT NULL,
    method     VARCHAR(64) NOT NULL,
    until      DATETIME(6) NOT NULL,
    PRIMARY KEY (userbot_id, method)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Access hashes of the users and supergroups each account has seen.
CREATE TABLE userbot_peers (
    userbot_id  BIGINT      NOT NULL,
    kind        VARCHAR(16) NOT NULL,
    peer_id     BIGINT      NOT NULL,
    access_hash BIGINT      NOT NULL,
    username    VARCHAR(64),
    seen_at     DATETIME(6) NOT NULL,
    PRIMARY KEY (userbot_id, kind, peer_id),
    KEY userbot_peers_peer (kind, peer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Groups the pool creates: a row before channels.createChannel, completed
-- with the channel once it exists, so that a crash in between finds the
-- group in the account's dialogs instead of creating a second one.
CREATE TABLE userbot_groups (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    userbot_id  BIGINT       NOT NULL,
    chat_key    VARCHAR(64)  NOT NULL,
    title       VARCHAR(255) NOT NULL,
    started_at  DATETIME(6)  NOT NULL,
    channel_id  BIGINT,
    access_hash BIGINT,
    done_at     DATETIME(6),
    KEY userbot_groups_chat (chat_key, id),
    KEY userbot_groups_account (userbot_id, started_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE INDEX actions_chat_kind ON actions (chat_key, kind, status);
