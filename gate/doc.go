// Package gate decides who belongs in which gated chat.
//
// It owns the rules file (which website groups and how much karma a chat
// wants, with hysteresis and a grace period), the per member and chat state
// machine, and the kinds of action the state machine asks for. Everything here
// is pure: no database, no Telegram, no clock of its own. The models package
// runs the planner inside the transaction that changes a member and writes the
// resulting actions to the outbox in that same transaction; workers (a later
// package) carry them out.
//
// The states a member has in a chat:
//
//	not_eligible  does not qualify and is not in the chat
//	needs_link    qualifies, but has not linked a Telegram account yet
//	eligible      qualifies and is linked; an invite action is queued
//	invited       the invite went out (join link, approval or direct add)
//	member        in the chat and qualifies
//	grace         in the chat, no longer qualifies, removal after the grace period
//	removing      in the chat, no longer qualifies; a remove action is queued
//	removed       was removed; stays out until they qualify again
//	exempt        manual override "always in"
//
// Once a member qualifies (eligible, invited, member or grace) the chat's
// leave_below bar applies instead of min_karma, so karma that wobbles around
// the bar does not flap them in and out.
package gate
