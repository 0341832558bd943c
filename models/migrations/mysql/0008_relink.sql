-- Relinking needs the old account (issue 13): a deep link, Login Widget
-- payload or shared contact that would move a linked member to another
-- Telegram account records a request here and moves nothing; the account
-- linked now confirms or refuses it with a button. A deep link the website
-- issued with {"replace": true} moves the member without asking.
CREATE TABLE relinks (
    id             BIGINT      NOT NULL AUTO_INCREMENT PRIMARY KEY,
    member_id      BIGINT      NOT NULL,
    member_ext     VARCHAR(64) NOT NULL,
    old_tg_user_id BIGINT      NOT NULL,
    new_tg_user_id BIGINT      NOT NULL,
    new_username   VARCHAR(64),
    new_language   VARCHAR(16),
    new_name       VARCHAR(256) NOT NULL DEFAULT '',
    via            VARCHAR(16) NOT NULL,
    status         VARCHAR(16) NOT NULL,
    expires_at     DATETIME(6) NOT NULL,
    created_at     DATETIME(6) NOT NULL,
    decided_at     DATETIME(6),
    KEY relinks_member (member_id, status)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
ALTER TABLE link_tokens ADD COLUMN replace_link BOOLEAN NOT NULL DEFAULT FALSE;
