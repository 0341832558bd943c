// Package lease elects one holder for work that must run in one place
// only, across every karmagate instance on one database: the getUpdates
// poller, the scheduled reconcile pass, a /sync pass, the creation of a
// chat's join link.
//
// A lease is a row of the leases table: its name, its owner (a process,
// worker.DefaultOwner), a fencing token and the time it runs out. Every
// time is the database's clock (CURRENT_TIMESTAMP(6) on MariaDB, SQLite's
// 'now'), never the host's: a host whose clock is wrong by minutes takes
// nothing early. The token rises by one each time the lease changes hands
// (a take-over, or a take after a release) and stays while its owner
// renews it, so that a write made under the lease can carry it: Fence, in
// the write's transaction, refuses it (ErrLost) once another owner has
// taken the lease, however late the stale holder's write arrives.
//
// A lease is free when its owner released it, when it ran out, or at once
// when its owner's heart stopped (Options.Dead: models' instances table).
// Renewing beats the owner's heart in the same transaction (Options.Beat),
// and a holder counts its lease as good only until Lease.Deadline, on its
// own clock: the shorter of the lease and the heart's staleness
// (Options.Stale) after the call began, so it stops before anyone else may
// start. Hold keeps a lease renewed and hands out a context that carries
// the fencing token (WithFence) and ends when the lease is lost.
package lease
