package gate

import (
	"strconv"
	"strings"
	"time"
)

// ReasonCode says which rule decided a state.
type ReasonCode uint8

// Reason codes; Reason.String renders them for people.
const (
	ReasonQualifies ReasonCode = iota + 1
	ReasonKarmaLow
	ReasonNoGroup
	ReasonOverrideAlways
	ReasonOverrideNever
	ReasonDeleted
	ReasonUnlinked // the member unlinked their Telegram account
	ReasonStranger // a Telegram account linked to no member
)

// Reason is why a member has a state in a chat. It is kept structured so that
// planning a million members allocates nothing; String renders it.
type Reason struct {
	Code       ReasonCode
	Karma      int64
	Bar        int64  // the threshold that applied
	LeaveBelow bool   // Bar is the chat's leave_below (hysteresis), not min_karma
	Group      string // the member's group that matched, or "" for any group
	Groups     []string
	NeedsLink  bool      // qualifies but has no Telegram link yet
	GraceUntil time.Time // set while in grace
	Flagged    bool      // on_violation: flag
}

// String renders the reason as the API and the audit trail show it, e.g.
// "karma 150 >= 100 in webmasters".
func (r Reason) String() string {
	var b strings.Builder
	switch r.Code {
	case ReasonQualifies:
		r.karmaVsBar(&b, " >= ")
		if r.Group != "" {
			b.WriteString(" in ")
			b.WriteString(r.Group)
		}
	case ReasonKarmaLow:
		r.karmaVsBar(&b, " < ")
	case ReasonNoGroup:
		b.WriteString("not in ")
		if len(r.Groups) > 1 {
			b.WriteString("any of ")
		}
		b.WriteString(strings.Join(r.Groups, ", "))
	case ReasonOverrideAlways:
		b.WriteString("manual override: always in")
	case ReasonOverrideNever:
		b.WriteString("manual override: never in")
	case ReasonDeleted:
		b.WriteString("member deleted by the website")
	case ReasonUnlinked:
		b.WriteString("Telegram account unlinked from the member")
	case ReasonStranger:
		b.WriteString("Telegram account linked to no member of the website")
	default:
		return ""
	}
	if r.NeedsLink {
		b.WriteString("; waiting for the member to link Telegram")
	}
	if !r.GraceUntil.IsZero() {
		b.WriteString("; grace until ")
		b.WriteString(r.GraceUntil.UTC().Format(time.RFC3339))
	}
	if r.Flagged {
		b.WriteString("; flagged for the admins (on_violation: flag)")
	}
	return b.String()
}

// karmaVsBar writes "karma K <op> BAR", marking a leave_below bar.
func (r Reason) karmaVsBar(b *strings.Builder, op string) {
	b.WriteString("karma ")
	b.WriteString(strconv.FormatInt(r.Karma, 10))
	b.WriteString(op)
	b.WriteString(strconv.FormatInt(r.Bar, 10))
	if r.LeaveBelow {
		b.WriteString(" (leave_below)")
	}
}
