package gate

import "time"

// Member is what the gate needs to know about a website member.
type Member struct {
	Karma  int64
	Groups []string
	Linked bool // has a linked Telegram account
}

// Status is what is recorded for a member in one chat.
type Status struct {
	State      State
	InChat     bool // Telegram says the member is in the chat
	GraceUntil time.Time
}

// Decision is the state a member should have in a chat and the action, if
// any, that gets them there.
type Decision struct {
	State  State
	Reason Reason // Reason.GraceUntil is the grace deadline while in grace
	Action ActionKind
}

// GraceUntil is when a member in grace is removed; zero otherwise.
func (d *Decision) GraceUntil() time.Time { return d.Reason.GraceUntil }

// Changed reports whether the decision differs from the current status in a
// way worth recording (state, grace deadline or an action). No recorded
// state means not_eligible: most members qualify for few chats, and nothing
// is stored for the rest.
func (d *Decision) Changed(cur Status) bool {
	from := cur.State
	if from == StateNone {
		from = StateNotEligible
	}
	return d.State != from || d.Action != ActionNone || !d.Reason.GraceUntil.Equal(cur.GraceUntil)
}

// qualification measures a member against a chat's bars.
func (c *Chat) qualification(r *Rules, m Member, mask uint64, holding bool) (ok bool, why Reason) {
	why = Reason{Karma: m.Karma, Bar: c.MinKarma}
	if holding && c.LeaveBelow != c.MinKarma {
		why.Bar, why.LeaveBelow = c.LeaveBelow, true
	}
	if !c.AnyGroup {
		why.Group = c.matchGroup(r, m.Groups, mask)
		if why.Group == "" {
			why.Code, why.Groups = ReasonNoGroup, c.Groups
			return false, why
		}
	}
	if m.Karma < why.Bar {
		why.Code = ReasonKarmaLow
		return false, why
	}
	why.Code = ReasonQualifies
	return true, why
}

// matchGroup returns the first of the member's groups the chat accepts.
func (c *Chat) matchGroup(r *Rules, groups []string, mask uint64) string {
	if c.group == nil && mask&c.mask == 0 && mask != maskUnknown {
		return ""
	}
	for _, g := range groups {
		if c.group != nil {
			if _, ok := c.group[g]; ok {
				return g
			}
			continue
		}
		if r.groupBits[g]&c.mask != 0 {
			return g
		}
	}
	return ""
}

// maskUnknown tells matchGroup that the member's mask was not computed.
const maskUnknown = ^uint64(0)

// MemberMask is the bit set of the member's groups that any chat names; pass
// it to EvaluateMask to match each chat with one AND.
func (r *Rules) MemberMask(groups []string) uint64 {
	if r.groupBits == nil {
		return maskUnknown
	}
	var m uint64
	for _, g := range groups {
		m |= r.groupBits[g]
	}
	return m
}

// Evaluate decides the state member m should have in chat c.
func (r *Rules) Evaluate(c *Chat, m Member, ov Override, cur Status, now time.Time) Decision {
	return r.EvaluateMask(c, m, r.MemberMask(m.Groups), ov, cur, now)
}

// EvaluateMask is Evaluate with the member's group mask computed once for all
// chats.
func (r *Rules) EvaluateMask(c *Chat, m Member, mask uint64, ov Override, cur Status, now time.Time) Decision {
	inChat := cur.InChat || cur.State == StateMember || cur.State == StateGrace || cur.State == StateRemoving
	invitedOut := !inChat && (cur.State == StateInvited || cur.State == StateExempt)

	switch ov {
	case OverrideNever:
		return r.leave(c, cur, inChat, invitedOut, Reason{Code: ReasonOverrideNever}, false, now)
	case OverrideAlways:
		why := Reason{Code: ReasonOverrideAlways}
		if !m.Linked {
			why.NeedsLink = true
			return Decision{State: StateNeedsLink, Reason: why}
		}
		d := Decision{State: StateExempt, Reason: why}
		if cur.State != StateExempt && !inChat {
			d.Action = ActionInvite
		}
		return d
	}

	ok, why := c.qualification(r, m, mask, cur.State.holding() || inChat)
	if !ok {
		return r.leave(c, cur, inChat, invitedOut, why, true, now)
	}
	switch {
	case !m.Linked:
		why.NeedsLink = true
		return Decision{State: StateNeedsLink, Reason: why}
	case inChat:
		return Decision{State: StateMember, Reason: why}
	case cur.State == StateInvited || cur.State == StateEligible:
		return Decision{State: cur.State, Reason: why}
	default:
		return Decision{State: StateEligible, Reason: why, Action: ActionInvite}
	}
}

// leave decides for a member who should not be in the chat. byRule is false
// for a manual "never", which neither waits out a grace period nor merely
// flags.
func (r *Rules) leave(c *Chat, cur Status, inChat, invitedOut bool, why Reason, byRule bool, now time.Time) Decision {
	switch {
	case cur.State == StateRemoving:
		return Decision{State: StateRemoving, Reason: why}
	case inChat:
		if byRule && c.Grace > 0 {
			until := cur.GraceUntil
			if cur.State != StateGrace || until.IsZero() {
				until = now.Add(c.Grace)
			}
			if now.Before(until) {
				why.GraceUntil = until
				d := Decision{State: StateGrace, Reason: why}
				if cur.State != StateGrace {
					d.Action = ActionWarn
				}
				return d
			}
		}
		if byRule && c.OnViolation == ViolationFlag {
			why.Flagged = true
			d := Decision{State: StateNotEligible, Reason: why}
			if cur.State != StateNotEligible {
				d.Action = ActionFlag
			}
			return d
		}
		return Decision{State: StateRemoving, Reason: why, Action: ActionRemove}
	case invitedOut:
		return Decision{State: StateNotEligible, Reason: why, Action: ActionUninvite}
	case cur.State == StateRemoved:
		return Decision{State: StateRemoved, Reason: why}
	default:
		return Decision{State: StateNotEligible, Reason: why}
	}
}
