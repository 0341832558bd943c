-- Every running karmagate process registers here and beats its heart every
-- second or so, in the database's own clock (milliseconds since the epoch):
-- work a process holds whose heart stopped (kill -9, a lost host) is taken
-- over within seconds instead of when its lease runs out. A heartbeat of 0
-- marks a process known to be dead (its pid is gone from its host).
CREATE TABLE instances (
    owner        TEXT    NOT NULL PRIMARY KEY,
    host         TEXT    NOT NULL,
    pid          INTEGER NOT NULL,
    version      TEXT    NOT NULL,
    started_ms   INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL
);
CREATE INDEX instances_heartbeat ON instances (heartbeat_ms);
