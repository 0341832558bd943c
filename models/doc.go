// Package models is karmagate's storage: the members, their Telegram links,
// their state in each gated chat, manual overrides, the action outbox and the
// audit trail, in SQLite (the embedded default, pure Go, no cgo) or MariaDB
// 10.6+ (the mysql dialect; MySQL 8 is untested), through gorm.
//
// Every method that changes a member runs the gate's planner inside the same
// transaction and writes the actions it decides to the outbox table in that
// transaction (the transactional outbox): a crash never loses a decision and
// never leaves an action without the state change that asked for it. Each
// action belongs to the member's row and has an idempotency key derived from
// that row, the chat and the version of the member's state there, so a
// replayed decision cannot queue it twice. ClaimActions runs one member's
// actions in one chat one at a time, in id order. Under dry run a removal
// is written held (ActionHeld) and no worker takes it until ConfirmRemovals
// releases it (dryrun.go).
//
// A change waits for the database only until its context is done (then
// ErrBusy); once it has started it runs to its end on that context without
// its cancellation.
//
// The schema is versioned: migrations are plain SQL per dialect under
// migrations/, applied in order by Migrate and recorded in schema_migrations.
package models
