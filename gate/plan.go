package gate

import "time"

// Change is a decision for the chat at index Chat of Rules.Chats that differs
// from what is recorded.
type Change struct {
	Chat     int
	Decision Decision
}

// PlanMember evaluates m against every chat and appends to out the decisions
// that change something. cur and ov are indexed like r.Chats; either may be
// nil, meaning no state recorded and no overrides. It allocates nothing when
// out has room.
func (r *Rules) PlanMember(m Member, cur []Status, ov []Override, now time.Time, out []Change) []Change {
	mask := r.MemberMask(m.Groups)
	for i, c := range r.Chats {
		var st Status
		if cur != nil {
			st = cur[i]
		}
		o := OverrideNone
		if ov != nil {
			o = ov[i]
		}
		// Evaluate straight into out's next slot: no copy of the decision
		// when nothing changes, which is most of the time.
		out = append(out, Change{Chat: i})
		d := &out[len(out)-1].Decision
		*d = r.EvaluateMask(c, m, mask, o, st, now)
		if !d.Changed(st) {
			out = out[:len(out)-1]
		}
	}
	return out
}
