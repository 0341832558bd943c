-- Actions belong to a member row, not to an external id: a member deleted
-- and created again under the same id is another row, and an old action
-- must not touch the new one. member_ext stays for display and audit.
-- Actions older than their member's row (left by a member deleted before
-- this migration) keep member_id 0.
ALTER TABLE actions ADD COLUMN member_id INTEGER NOT NULL DEFAULT 0;

UPDATE actions SET member_id = COALESCE((SELECT m.id FROM members AS m
    WHERE m.external_id = actions.member_ext AND m.created_at <= actions.created_at), 0);

-- Cancelling a member's pending actions in a chat, and ClaimActions' rule
-- that a member's actions in one chat run one at a time in id order.
CREATE INDEX actions_member ON actions (member_id, chat_key, status);
