package door

import (
	"context"
	"errors"
	"time"
)

// Visitor is who opened the Mini App, for which chat, as initData says.
type Visitor struct {
	User     User
	ChatKey  string
	AuthDate time.Time
}

// Decisions a visit may report.
const (
	DecisionNone     = ""           // still open: the person does not qualify yet
	DecisionApproved = "approved"   // let in
	DecisionQueued   = "queued"     // left to the chat's admins
	DecisionDeclined = "declined"   // turned down (when the time ran out)
	DecisionNoneOpen = "no_request" // no join request of theirs waits at this door
)

// Visit is what the person is shown.
type Visit struct {
	ChatKey   string
	ChatTitle string
	// Linked: karmagate knows the website member behind the account.
	Linked bool
	Member string // the member's name (or id) on the website, when linked
	Karma  int64
	Bar    int64 // the karma the chat asks for
	// Groups the chat asks for (any one of them); empty with AnyGroup.
	Groups       []string
	AnyGroup     bool
	MemberGroups []string
	// What is missing: karma points, a group, the link.
	KarmaShort   int64
	GroupMissing bool
	Decision     string
	Reason       string    // one line: why, for queued or declined, or the standing
	DecideAt     time.Time // when the request is decided anyway, while open
}

// Doors decides join requests at the door; the bot implements it.
type Doors interface {
	// Visit shows the visitor's standing at the chat's door and decides
	// their open request once they qualify (or are borderline).
	Visit(ctx context.Context, v Visitor) (Visit, error)
}

// Errors Doors.Visit may return, shown to the person as they are.
var (
	// ErrUnknownChat: no gated chat has this key.
	ErrUnknownChat = errors.New("no such chat")
	// ErrBeforeRequest: the initData was signed before the join request it
	// would act on was made (a replay of an earlier visit).
	ErrBeforeRequest = errors.New("this screen was opened before your join request: open it again from the request")
)
