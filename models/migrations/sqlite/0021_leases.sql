-- Named leases (package lease): one row per lease, times in the database's
-- own clock (milliseconds since the epoch). token rises by one each time
-- the lease changes hands and stays while its owner renews it: a write
-- made under the lease checks it (lease.Fence), so a stale holder's write
-- is refused. owner is '' when the lease is free (released); the row stays
-- so that the token keeps rising.
CREATE TABLE leases (
    name     TEXT    NOT NULL PRIMARY KEY,
    owner    TEXT    NOT NULL,
    token    INTEGER NOT NULL,
    since_ms INTEGER NOT NULL,
    until_ms INTEGER NOT NULL
);
-- The leases kept in meta before: a running holder renews into the new
-- table (an old binary's holding is simply forgotten).
DELETE FROM meta WHERE k LIKE 'lease:%' OR k = 'reconcile_lease';
