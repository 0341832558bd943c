CREATE TABLE members (
    id          BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    external_id VARCHAR(64) NOT NULL,
    karma       BIGINT      NOT NULL DEFAULT 0,
    group_list  VARCHAR(2048) NOT NULL DEFAULT '',
    name        VARCHAR(255),
    phone       VARCHAR(32),
    username    VARCHAR(64),
    tg_user_id  BIGINT,
    tg_username VARCHAR(64),
    linked_at   DATETIME(6),
    created_at  DATETIME(6) NOT NULL,
    updated_at  DATETIME(6) NOT NULL,
    UNIQUE KEY members_external_id (external_id),
    UNIQUE KEY members_tg_user_id (tg_user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE chat_states (
    member_id   BIGINT      NOT NULL,
    chat_key    VARCHAR(64) NOT NULL,
    state       VARCHAR(16) NOT NULL,
    reason      VARCHAR(512) NOT NULL DEFAULT '',
    in_chat     BOOLEAN     NOT NULL DEFAULT FALSE,
    grace_until DATETIME(6),
    version     BIGINT      NOT NULL DEFAULT 0,
    changed_at  DATETIME(6) NOT NULL,
    PRIMARY KEY (member_id, chat_key),
    KEY chat_states_grace (state, grace_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE overrides (
    member_id  BIGINT      NOT NULL,
    chat_key   VARCHAR(64) NOT NULL,
    mode       VARCHAR(16) NOT NULL,
    created_at DATETIME(6) NOT NULL,
    PRIMARY KEY (member_id, chat_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE actions (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    idem_key    VARCHAR(191) NOT NULL,
    kind        VARCHAR(16)  NOT NULL,
    member_ext  VARCHAR(64)  NOT NULL,
    chat_key    VARCHAR(64)  NOT NULL,
    tg_user_id  BIGINT,
    state_version BIGINT NOT NULL DEFAULT 0,
    reason      VARCHAR(512) NOT NULL DEFAULT '',
    status      VARCHAR(16)  NOT NULL,
    attempts    INT          NOT NULL DEFAULT 0,
    not_before  DATETIME(6)  NOT NULL,
    lease_owner VARCHAR(128),
    lease_until DATETIME(6),
    last_error  VARCHAR(1024) NOT NULL DEFAULT '',
    created_at  DATETIME(6)  NOT NULL,
    updated_at  DATETIME(6)  NOT NULL,
    UNIQUE KEY actions_idem_key (idem_key),
    KEY actions_ready (status, not_before),
    KEY actions_pair (member_ext, chat_key, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE events (
    id         BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    at         DATETIME(6) NOT NULL,
    actor      VARCHAR(128) NOT NULL,
    kind       VARCHAR(32) NOT NULL,
    member_ext VARCHAR(64),
    chat_key   VARCHAR(64),
    from_state VARCHAR(16),
    to_state   VARCHAR(16),
    detail     VARCHAR(1024) NOT NULL DEFAULT '',
    KEY events_member (member_ext, id),
    KEY events_chat (chat_key, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE chats (
    chat_key   VARCHAR(64)  NOT NULL PRIMARY KEY,
    tg_chat_id BIGINT,
    title      VARCHAR(255) NOT NULL DEFAULT '',
    created_at DATETIME(6)  NOT NULL,
    updated_at DATETIME(6)  NOT NULL,
    UNIQUE KEY chats_tg_chat_id (tg_chat_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE meta (
    k VARCHAR(64)  NOT NULL PRIMARY KEY,
    v VARCHAR(255) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
