package gate_test

import (
	"testing"

	"github.com/karmagate/karmagate/gate"
)

// FuzzParseRules feeds the parser arbitrary files: it must answer with rules
// or a located error, never panic, and rules it accepts must evaluate.
func FuzzParseRules(f *testing.F) {
	f.Add(goodRules)
	f.Add("chats:\n  a:\n    title: A\n    groups: ['*']\n    min_karma: -1\n    grace: 1h\n")
	f.Add("chats: &x\n  a: *x\n")
	f.Add("chats:\n  a:\n    title: [1]\n")
	f.Fuzz(func(t *testing.T, src string) {
		r, err := gate.ParseRules("fuzz.yaml", []byte(src))
		if err != nil {
			switch e := err.(type) {
			case *gate.Error:
			case gate.Errors:
				if len(e) < 2 {
					t.Fatalf("Errors of %d", len(e))
				}
			default:
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		for _, c := range r.Chats {
			if c.LeaveBelow > c.MinKarma || c.Title == "" {
				t.Fatalf("accepted an invalid chat %+v", c)
			}
			for _, st := range gate.States {
				r.Evaluate(c, gate.Member{Karma: c.MinKarma, Groups: c.Groups, Linked: true}, "", gate.Status{State: st}, t0)
			}
		}
	})
}
