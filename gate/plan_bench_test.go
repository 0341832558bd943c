package gate_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/karmagate/karmagate/gate"
)

// BenchmarkPlan plans 1,000,000 members against 20 rules held in memory, the
// figure issue 2 asks for. Members carry one to three of 30 groups and karma
// from -100 to 1000; a quarter already have recorded states.
func BenchmarkPlan(b *testing.B) {
	const members, chats = 1_000_000, 20
	src := "chats:\n"
	for i := range chats {
		src += fmt.Sprintf("  chat-%d:\n    title: Chat %d\n    groups: [g%d, g%d]\n    min_karma: %d\n    leave_below: %d\n    grace: 24h\n",
			i, i, i, (i+7)%30, i*40, i*40-10)
	}
	r := MustParse(b, src)
	rng := rand.New(rand.NewPCG(1, 2))
	ms := make([]gate.Member, members)
	groups := make([]string, 30)
	for i := range groups {
		groups[i] = fmt.Sprintf("g%d", i)
	}
	for i := range ms {
		n := 1 + rng.IntN(3)
		gs := make([]string, n)
		for j := range gs {
			gs[j] = groups[rng.IntN(len(groups))]
		}
		ms[i] = gate.Member{Karma: rng.Int64N(1100) - 100, Groups: gs, Linked: rng.IntN(2) == 0}
	}
	// 1,024 recorded-state patterns shared by the members that have state.
	patterns := make([][]gate.Status, 1024)
	for i := range patterns {
		p := make([]gate.Status, chats)
		for j := range p {
			p[j] = gate.Status{State: gate.States[rng.IntN(len(gate.States))]}
		}
		patterns[i] = p
	}
	out := make([]gate.Change, 0, chats)
	b.ReportAllocs()
	b.ResetTimer()
	var changes int
	for b.Loop() {
		changes = 0
		for i := range ms {
			var cur []gate.Status
			if i%4 == 0 {
				cur = patterns[i%len(patterns)]
			}
			out = r.PlanMember(ms[i], cur, nil, t0, out[:0])
			changes += len(out)
		}
	}
	b.ReportMetric(float64(members*chats), "pairs/op")
	b.ReportMetric(float64(changes), "changes/op")
}
