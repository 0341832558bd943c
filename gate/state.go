package gate

import "fmt"

// State is where a member stands in one gated chat.
type State string

// The states; see the package documentation for their meaning.
const (
	StateNone        State = "" // no state recorded yet
	StateNotEligible State = "not_eligible"
	StateNeedsLink   State = "needs_link"
	StateEligible    State = "eligible"
	StateInvited     State = "invited"
	StateMember      State = "member"
	StateGrace       State = "grace"
	StateRemoving    State = "removing"
	StateRemoved     State = "removed"
	StateExempt      State = "exempt"
)

// States lists every state in a stable order (for counts and metrics).
var States = []State{
	StateNotEligible, StateNeedsLink, StateEligible, StateInvited, StateMember,
	StateGrace, StateRemoving, StateRemoved, StateExempt,
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, v := range States {
		if s == v {
			return true
		}
	}
	return false
}

// holding reports whether a member in this state has qualified and so is
// measured against leave_below rather than min_karma.
func (s State) holding() bool {
	switch s {
	case StateEligible, StateInvited, StateMember, StateGrace:
		return true
	}
	return false
}

// ActionKind is what the gate asks a worker to do in Telegram.
type ActionKind string

// The actions the state machine queues in the outbox.
const (
	ActionNone     ActionKind = ""
	ActionInvite   ActionKind = "invite"   // let the member in: approve, personal link or direct add
	ActionUninvite ActionKind = "uninvite" // withdraw an invite that went out (revoke the link)
	ActionWarn     ActionKind = "warn"     // tell the member they are in grace and until when
	ActionRemove   ActionKind = "remove"   // remove the member and tell them why
	ActionFlag     ActionKind = "flag"     // tell the chat's admins someone no longer qualifies
)

// Override is a manual decision for one member in one chat.
type Override string

// Overrides an admin or the website can set.
const (
	OverrideNone   Override = ""
	OverrideAlways Override = "always"
	OverrideNever  Override = "never"
)

// ParseOverride reads "always", "never" or "none"/"" .
func ParseOverride(s string) (Override, error) {
	switch s {
	case "always":
		return OverrideAlways, nil
	case "never":
		return OverrideNever, nil
	case "none", "":
		return OverrideNone, nil
	}
	return OverrideNone, fmt.Errorf("override must be always, never or none, not %q", s)
}
