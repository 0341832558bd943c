// Package worker carries out the outbox.
//
// A Pool claims due actions from the store (leases, so that several
// instances share the work and a crashed worker's actions go to another),
// hands each to the Executor registered for its kind (the bot, later the
// userbot pool) and reports the outcome back: CompleteAction on success,
// DeferAction when Telegram said exactly when to try again (a flood wait,
// which is not a failure), FailAction with a backoff for other errors, and
// FailAction without a retry once an action has used its attempts or an
// executor says the error is permanent; the store parks it with its reason
// and an audit event.
//
// The store guarantees that two actions of one member in one chat never run
// at once and that they run in the order they were queued; the pool adds no
// ordering of its own, so a flood wait on one chat holds up nothing else.
//
// A Reconciler runs full reconcile passes: every member re-planned against
// the rules, every gated chat's participants listed through an Auditor
// (the userbot pool) and recorded, and a Report of what was found and
// queued written to the audit trail, the log and the metrics. Run
// schedules them under a lease in the database, so that of several
// instances one runs each scheduled pass.
package worker
