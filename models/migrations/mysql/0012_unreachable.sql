-- People the bot cannot message, and why (issue 14 #4): they are not
-- messaged again until they write to the bot. A row for anyone, linked or
-- not (join requesters, strangers removed from a chat).
CREATE TABLE unreachable_users (
    tg_user_id BIGINT        NOT NULL PRIMARY KEY,
    reason     VARCHAR(32)   NOT NULL,
    detail     VARCHAR(1024) NOT NULL DEFAULT '',
    since      DATETIME(6)   NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
