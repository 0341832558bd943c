-- Actions belong to a member row, not to an external id: a member deleted
-- and created again under the same id is another row, and an old action
-- must not touch the new one. member_ext stays for display and audit.
-- Actions older than their member's row (left by a member deleted before
-- this migration) keep member_id 0.
ALTER TABLE actions ADD COLUMN member_id BIGINT NOT NULL DEFAULT 0 AFTER kind;

UPDATE actions AS a JOIN members AS m ON m.external_id = a.member_ext AND m.created_at <= a.created_at
SET a.member_id = m.id;

-- Cancelling a member's pending actions in a chat, and ClaimActions' rule
-- that a member's actions in one chat run one at a time in id order.
CREATE INDEX actions_member ON actions (member_id, chat_key, status);

-- The API accepts 64 groups of 64 characters (4,159 with the commas); SQLite
-- stores any length. TEXT holds them on both databases alike.
ALTER TABLE members MODIFY group_list TEXT NOT NULL;
