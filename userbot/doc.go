// Package userbot is karmagate's pool of Telegram user accounts, on MTProto
// with gotd/td: the accounts create the gated groups (bots cannot), make the
// bot their admin, add members where Telegram allows, list who is really
// inside, remove people when the bot cannot, and resolve phone numbers.
//
// Every gotd import of karmagate is in this package: the rest of the module
// sees models types, worker executors and linking resolvers.
//
// # Accounts
//
// Any number of accounts are logged in, through StartLogin, SubmitCode and
// SubmitPassword (each step a separate call that may reach another
// instance: the login in progress is in the database, sealed) or LoginQR.
// Sessions are sealed with the vault (AES-GCM under a key derived from
// KARMAGATE_SECRET, the account id as associated data); no auth key,
// phone_code_hash, code or password reaches the database or the logs in
// the clear.
//
// Run leases accounts in the database (one live client per account across
// instances, renewed by a heartbeat; another instance takes the accounts
// nobody holds) and keeps one gotd client per account connected. An
// account whose session Telegram ended (AUTH_KEY_UNREGISTERED,
// SESSION_REVOKED), that was frozen (FROZEN_METHOD_INVALID) or deactivated
// leaves the pool with an audit event and a visible state.
//
// # Calls
//
// Every call goes through middlewares on telegram.Options.Middlewares: a
// deadline per call; a flood-wait guard (FLOOD_WAIT_X blocks that method on
// that account for exactly X, in memory and in the database, and the
// account is not called for it again before then); pacing (a minimum
// interval per method and account, Options.Pace); and the account-state
// guard above. Executors choose an account per job by health and capacity
// and move a job to another account when the chosen one must wait; when
// every account must, the job is deferred to the earliest end of a wait
// (worker.RetryAt), never slept on.
//
// # Executors
//
// ActionCreateGroup creates a chat's private supergroup (title and about
// from the rules), binds it, and promotes the bot with invite, ban and
// delete rights. An attempt is recorded before channels.createChannel, so
// that after a crash in between the group is found in the account's
// dialogs instead of created twice. ActionAudit lists a group's
// participants (paged) and records them with models.Store.RecordParticipants.
// Invite wraps the bot's invite executor with a direct add (at most 20 per
// call, batched per group) where Telegram allows it; Remove wraps the bot's
// removal with channels.editBanned where the bot cannot ban. The Pool is
// also a linking.PhoneResolver (contacts.importContacts, then the contact
// is deleted).
package userbot
