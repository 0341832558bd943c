// Package models is karmagate's storage: the members, their Telegram links,
// their state in each gated chat, manual overrides, the action outbox and the
// audit trail, in SQLite (the embedded default, pure Go, no cgo) or
// MySQL/MariaDB, through gorm.
//
// Every method that changes a member runs the gate's planner inside the same
// transaction and writes the actions it decides to the outbox table in that
// transaction (the transactional outbox): a crash never loses a decision and
// never leaves an action without the state change that asked for it. Each
// action has an idempotency key derived from the member, the chat and the
// version of their state, so a replayed decision cannot queue it twice.
//
// The schema is versioned: migrations are plain SQL per dialect under
// migrations/, applied in order by Migrate and recorded in schema_migrations.
package models
