-- People the bot cannot message, and why (issue 14 #4): they are not
-- messaged again until they write to the bot. A row for anyone, linked or
-- not (join requesters, strangers removed from a chat).
CREATE TABLE unreachable_users (
    tg_user_id INTEGER  NOT NULL PRIMARY KEY,
    reason     TEXT     NOT NULL,
    detail     TEXT     NOT NULL DEFAULT '',
    since      DATETIME NOT NULL
);
