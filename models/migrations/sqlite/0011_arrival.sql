-- Updates are processed in the order they arrived, not by update_id: after
-- a week without updates Telegram starts the ids again at a random, lower
-- value. seq numbers arrivals; rows stored before take their update_id.
ALTER TABLE updates ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
UPDATE updates SET seq = update_id;
CREATE INDEX updates_lane_seq ON updates (lane, status, seq);
CREATE INDEX updates_seq ON updates (seq);
