package models

import "time"

// ChatState is a member's state in one gated chat.
type ChatState struct {
	MemberID   int64  `gorm:"primaryKey;autoIncrement:false"`
	ChatKey    string `gorm:"primaryKey"`
	State      string
	Reason     string
	InChat     bool
	GraceUntil *time.Time
	Version    int64
	ChangedAt  time.Time
	Tag        *string // the member tag the bot last set in the chat
}

// TableName is the chat_states table.
func (ChatState) TableName() string { return "chat_states" }

// OverrideRow is a manual always/never decision for a member in a chat.
type OverrideRow struct {
	MemberID  int64  `gorm:"primaryKey;autoIncrement:false"`
	ChatKey   string `gorm:"primaryKey"`
	Mode      string
	CreatedAt time.Time
}

// TableName is the overrides table.
func (OverrideRow) TableName() string { return "overrides" }

// Action statuses in the outbox.
const (
	ActionPending   = "pending"   // waiting for a worker (not before NotBefore)
	ActionRunning   = "running"   // leased by a worker until LeaseUntil
	ActionDone      = "done"      // carried out
	ActionFailed    = "failed"    // failed for good; see LastError
	ActionCancelled = "cancelled" // superseded by a later decision before it ran
	// ActionHeld is a removal planned under dry run: ClaimActions never
	// hands it out; ConfirmRemovals (or dry run ending) makes it pending.
	ActionHeld = "held"
)

// unstarted are the statuses of actions no worker has taken: a new
// decision cancels them.
var unstarted = []string{ActionPending, ActionHeld}

// Action is one thing to do in Telegram, queued in the outbox in the same
// transaction as the decision that asked for it.
type Action struct {
	ID      int64  `gorm:"primaryKey"`
	IdemKey string `gorm:"column:idem_key"`
	Kind    string
	// MemberID is the members row the action is for. A member deleted and
	// created again under the same external id is another row, so an old
	// action never touches the new member. (0 for an action left by a member
	// deleted before migration 0002.)
	MemberID int64 `gorm:"column:member_id"`
	// MemberExt is the member's external id, for display and audit.
	MemberExt string `gorm:"column:member_ext"`
	ChatKey   string
	TgUserID  *int64 `gorm:"column:tg_user_id"`
	// StateVersion is the version of the chat state that queued the action.
	StateVersion int64
	Reason       string
	Status       string
	Attempts     int
	NotBefore    time.Time
	LeaseOwner   *string
	LeaseUntil   *time.Time
	LastError    string
	// Payload is a notify action's message (JSON NoticePayload).
	Payload *string
	// Hold says why a removal is or was held: HoldDryRun, HoldBreaker, or
	// empty for one never held (those count against max_removals).
	Hold      string `gorm:"column:hold"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName is the actions (outbox) table.
func (Action) TableName() string { return "actions" }

// Event is one entry of the audit trail: who did what, why and when.
type Event struct {
	ID        int64     `gorm:"primaryKey" json:"id"`
	At        time.Time `json:"at"`
	Actor     string    `json:"actor"`
	Kind      string    `json:"kind"`
	MemberExt *string   `gorm:"column:member_ext" json:"member"`
	ChatKey   *string   `json:"chat"`
	FromState *string   `json:"from,omitempty"`
	ToState   *string   `json:"to,omitempty"`
	Detail    string    `json:"detail"`
}

// TableName is the events table.
func (Event) TableName() string { return "events" }

// Event kinds.
const (
	EventMemberCreated = "member.created"
	EventBulkImport    = "members.bulk"
	EventMemberUpdated = "member.updated"
	EventMemberDeleted = "member.deleted"
	EventKarmaChanged  = "karma.changed"
	EventStateChanged  = "state.changed"
	EventOverrideSet   = "override.set"
	EventActionDone    = "action.done"
	EventActionFailed  = "action.failed"
	EventActionRetry   = "action.retry"
	EventMembership    = "membership.changed"
	EventRulesChanged  = "rules.changed"
	EventChatBound     = "chat.bound"
	// Dry run: a chat started holding removals; held removals confirmed
	// by an admin, or released because dry run ended.
	EventDryRunStarted     = "dryrun.started"
	EventRemovalsConfirmed = "removals.confirmed"
	EventRemovalsReleased  = "removals.released"
)

// ChatRow records a gated chat's Telegram side (filled in when the userbot
// creates it or an admin binds it).
type ChatRow struct {
	ChatKey  string `gorm:"primaryKey"`
	TgChatID *int64 `gorm:"column:tg_chat_id"`
	Title    string
	// JoinLink is the chat's join-request link the bot keeps.
	JoinLink *string
	// BotStatus is the bot's status in the chat as Telegram last said
	// (administrator, member, left, kicked; empty when unknown), with the
	// admin rights karmagate relies on.
	BotStatus     string
	CanInvite     bool
	CanRestrict   bool
	CanManageTags bool
	// Guard is true when the bot is the chat's guard bot (join-request
	// queries, Bot API 10.1).
	Guard bool
	// BoundBy is the Telegram user who bound the chat with /bind or /setup.
	BoundBy *int64
	// DryRun is set when the chat was bound over a group that already had
	// members: its removals are held until an admin first confirms them.
	DryRun bool `gorm:"column:dry_run"`
	// BreakerAt is when the chat's removal breaker opened (max_removals):
	// nil while it is closed. BreakerResetAt is when an admin last closed
	// it; removals started before then no longer count against the cap.
	BreakerAt      *time.Time `gorm:"column:breaker_at"`
	BreakerResetAt *time.Time `gorm:"column:breaker_reset_at"`
	// PeopleInside is how many people Telegram last said were inside
	// besides the admins, at PeopleCountedAt (nil: never counted).
	PeopleInside    *int       `gorm:"column:people_inside"`
	PeopleCountedAt *time.Time `gorm:"column:people_counted_at"`
	// AuditOn is set once an account of the userbot pool is in the group
	// as an admin that sees the members (/audit on).
	AuditOn   bool `gorm:"column:audit_on"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TableName is the chats table.
func (ChatRow) TableName() string { return "chats" }

type metaRow struct {
	K string `gorm:"primaryKey"`
	V string
}

func (metaRow) TableName() string { return "meta" }

func ptr[T any](v T) *T { return &v }
