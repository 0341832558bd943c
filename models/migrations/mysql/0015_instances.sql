-- Every running karmagate process registers here and beats its heart every
-- second or so, in the database's own clock (milliseconds since the epoch):
-- work a process holds whose heart stopped (kill -9, a lost host) is taken
-- over within seconds instead of when its lease runs out. A heartbeat of 0
-- marks a process known to be dead (its pid is gone from its host).
CREATE TABLE instances (
    owner        VARCHAR(200) NOT NULL PRIMARY KEY,
    host         VARCHAR(255) NOT NULL,
    pid          INT          NOT NULL,
    version      VARCHAR(64)  NOT NULL,
    started_ms   BIGINT       NOT NULL,
    heartbeat_ms BIGINT       NOT NULL,
    KEY instances_heartbeat (heartbeat_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
