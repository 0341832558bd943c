package world

import (
	"log/slog"
	"time"
)

// Options configure a World. The zero value works: seed 0, the real clock,
// Telegram's limits.
type Options struct {
	// Seed makes ids, hashes, tokens, codes and faults reproducible.
	Seed int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Limits are Telegram's limits; zero fields take Telegram's defaults.
	Limits Limits
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// MaxCalls caps the call log (oldest dropped first); zero means 10000.
	MaxCalls int
	// MaxMessagesPerChat caps the messages kept per private dialog and per
	// supergroup (oldest dropped first, message ids keep counting); zero
	// means 1000.
	MaxMessagesPerChat int
}

// Limits are the quotas the world enforces. Zero values mean Telegram's
// defaults (see DefaultLimits).
type Limits struct {
	// PerChatMsgPerSec: messages a bot may send to one chat per second (1).
	PerChatMsgPerSec float64
	// PerGroupMsgPerMin: messages a bot may send to one group per minute (20).
	PerGroupMsgPerMin int
	// GlobalMsgPerSec: messages a bot may send per second overall (30).
	GlobalMsgPerSec int
	// PerChatBurst and GlobalBurst are the token buckets' sizes: how many
	// messages may go out at once before the rates above apply (3 and 30).
	// PerGroupBurst is no longer used: the group limit is a sliding window
	// of PerGroupMsgPerMin messages in any minute (pacing.go). Telegram "may allow short bursts" over its
	// published rates; an ack-then-answer bot sends two messages to one
	// chat within a second and is not refused.
	PerChatBurst, PerGroupBurst, GlobalBurst int
	// StrictPacing replaces the token buckets with exact sliding windows:
	// at most PerChatMsgPerSec messages in any second per chat,
	// PerGroupMsgPerMin in any minute per group, GlobalMsgPerSec in any
	// second overall, bursts or not.
	StrictPacing bool
	// InviteLinksPerMinPerChat: createChatInviteLink calls per chat per minute (20).
	InviteLinksPerMinPerChat int
	// ChannelsPerAccount: channels and supergroups one account may be in (500).
	ChannelsPerAccount int
	// MaxAdmins: administrators a supergroup may have besides its creator
	// (50); promoting one more is ADMINS_TOO_MUCH.
	MaxAdmins int
	// PeerFloodAfter: people one account may add to groups in 24 hours before
	// PEER_FLOOD (50).
	PeerFloodAfter int
	// MaxInvitePerCall: people per channels.inviteToChannel call (200).
	MaxInvitePerCall int
	// MaxMembers: members of a supergroup (200000).
	MaxMembers int
	// JoinRequestDMWindow: how long after a join request the chat's bots may
	// message the requester (5 minutes).
	JoinRequestDMWindow time.Duration
	// CodeTTL: how long a login code stays valid (5 minutes).
	CodeTTL time.Duration
	// CallbackQueryTTL: how long a bot may take to answer a callback query
	// (15 seconds); later answers are QUERY_ID_INVALID.
	CallbackQueryTTL time.Duration
	// JoinRequestQueryTTL: how long a guard bot has to answer a join-request
	// query (10 seconds, by the world's clock or in real time, whichever
	// comes first); then the request is left to the admins.
	JoinRequestQueryTTL time.Duration
	// JoinRequestWebAppTTL: how long a join-request query stays open once
	// its guard bot showed the requester a Mini App with
	// sendChatJoinRequestWebApp (1 hour). The Bot API demands the Mini App
	// within the 10 seconds and the answer "based on the user interaction
	// with the Mini App", which takes longer; Telegram publishes no limit
	// for it (unconfirmed).
	JoinRequestWebAppTTL time.Duration
	// ContactImportsPerDay: phones one account may import as contacts in
	// 24 hours (50); the ones beyond come back in retry_contacts, however
	// few a call asks for. Telegram publishes no number: its staff say
	// importing dozens a day that are not the user's own phone book gets
	// accounts banned.
	ContactImportsPerDay int
	// SupergroupsPerDay: supergroups one account may create in 24 hours
	// (50); beyond it channels.createChannel is FLOOD_WAIT_X until the
	// oldest creation leaves the window.
	SupergroupsPerDay int
	// FloodWait maps an MTProto method name (e.g. "contacts.resolvePhone")
	// to the minimum interval between two calls by one account. Nil means
	// DefaultFloodWait; an empty non-nil map disables them.
	FloodWait map[string]time.Duration
}

// DefaultFloodWait are minimum intervals per account for the MTProto methods
// Telegram is known to flood-limit hard.
func DefaultFloodWait() map[string]time.Duration {
	return map[string]time.Duration{
		"contacts.resolvePhone":    3 * time.Second,
		"contacts.importContacts":  3 * time.Second,
		"contacts.resolveUsername": time.Second,
		"channels.createChannel":   5 * time.Second,
		"channels.inviteToChannel": time.Second,
		"auth.sendCode":            30 * time.Second,
	}
}

// DefaultLimits are Telegram's published (or commonly observed) limits.
func DefaultLimits() Limits {
	return Limits{}.withDefaults()
}

func (l Limits) withDefaults() Limits {
	orDefault(&l.PerChatMsgPerSec, 1)
	orDefault(&l.PerGroupMsgPerMin, 20)
	orDefault(&l.GlobalMsgPerSec, 30)
	orDefault(&l.PerChatBurst, 3)
	orDefault(&l.PerGroupBurst, 3)
	orDefault(&l.GlobalBurst, 30)
	orDefault(&l.InviteLinksPerMinPerChat, 20)
	orDefault(&l.ChannelsPerAccount, 500)
	orDefault(&l.MaxAdmins, 50)
	orDefault(&l.PeerFloodAfter, 50)
	orDefault(&l.MaxInvitePerCall, 200)
	orDefault(&l.MaxMembers, 200000)
	orDefault(&l.JoinRequestDMWindow, 5*time.Minute)
	orDefault(&l.CodeTTL, 5*time.Minute)
	orDefault(&l.CallbackQueryTTL, 15*time.Second)
	orDefault(&l.JoinRequestQueryTTL, 10*time.Second)
	orDefault(&l.JoinRequestWebAppTTL, time.Hour)
	orDefault(&l.SupergroupsPerDay, 50)
	orDefault(&l.ContactImportsPerDay, 50)
	if l.FloodWait == nil {
		l.FloodWait = DefaultFloodWait()
	}
	return l
}

// orDefault sets *p to def when it is zero.
func orDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}
