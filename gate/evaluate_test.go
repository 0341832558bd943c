package gate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func TestRules_Evaluate(t *testing.T) {
	r := MustParse(t, goodRules)
	wp, _ := r.Chat("webmasters-pro")
	cc, _ := r.Chat("customers-club")
	ev, _ := r.Chat("everyone")
	web := func(k int64) gate.Member { return gate.Member{Karma: k, Groups: []string{"webmasters"}, Linked: true} }
	in := func(s gate.State) gate.Status { return gate.Status{State: s, InChat: true} }
	graceUntil := t0.Add(24 * time.Hour)

	tests := []struct {
		name   string
		chat   *gate.Chat
		m      gate.Member
		ov     gate.Override
		cur    gate.Status
		now    time.Time
		state  gate.State
		action gate.ActionKind
		reason string
	}{
		{"new qualifying member is invited", wp, web(150), "", gate.Status{}, t0, gate.StateEligible, gate.ActionInvite, "karma 150 >= 100 in webmasters"},
		{"unlinked member waits for a link", wp, gate.Member{Karma: 150, Groups: []string{"webmasters"}}, "", gate.Status{}, t0, gate.StateNeedsLink, "", "karma 150 >= 100 in webmasters; waiting for the member to link Telegram"},
		{"linking moves needs_link to eligible", wp, web(150), "", gate.Status{State: gate.StateNeedsLink}, t0, gate.StateEligible, gate.ActionInvite, ""},
		{"low karma", wp, web(99), "", gate.Status{}, t0, gate.StateNotEligible, "", "karma 99 < 100"},
		{"wrong group", wp, gate.Member{Karma: 500, Groups: []string{"customers"}, Linked: true}, "", gate.Status{}, t0, gate.StateNotEligible, "", "not in webmasters"},
		{"any of several groups", cc, gate.Member{Karma: 60, Groups: []string{"x", "staff"}, Linked: true}, "", gate.Status{}, t0, gate.StateEligible, gate.ActionInvite, "karma 60 >= 50 in staff"},
		{"no group lists all", cc, gate.Member{Karma: 60, Linked: true}, "", gate.Status{}, t0, gate.StateNotEligible, "", "not in any of customers, staff"},
		{"star takes anyone", ev, gate.Member{Karma: -5, Linked: true}, "", gate.Status{}, t0, gate.StateEligible, gate.ActionInvite, "karma -5 >= -5"},
		{"eligible stays eligible without a second invite", wp, web(150), "", gate.Status{State: gate.StateEligible}, t0, gate.StateEligible, "", ""},
		{"invited stays invited", wp, web(150), "", gate.Status{State: gate.StateInvited}, t0, gate.StateInvited, "", ""},
		{"joining makes a member", wp, web(150), "", gate.Status{State: gate.StateInvited, InChat: true}, t0, gate.StateMember, "", ""},
		{"hysteresis keeps a member above leave_below", wp, web(95), "", in(gate.StateMember), t0, gate.StateMember, "", "karma 95 >= 90 (leave_below) in webmasters"},
		{"hysteresis keeps eligibility", wp, web(95), "", gate.Status{State: gate.StateEligible}, t0, gate.StateEligible, "", ""},
		{"hysteresis does not let newcomers in", wp, web(95), "", gate.Status{}, t0, gate.StateNotEligible, "", "karma 95 < 100"},
		{"below leave_below starts grace with a warning", wp, web(89), "", in(gate.StateMember), t0, gate.StateGrace, gate.ActionWarn, "karma 89 < 90 (leave_below); grace until 2026-11-26T10:00:00Z"},
		{"grace holds until its end", wp, web(89), "", gate.Status{State: gate.StateGrace, InChat: true, GraceUntil: graceUntil}, graceUntil.Add(-time.Second), gate.StateGrace, "", ""},
		{"grace ends in removal", wp, web(89), "", gate.Status{State: gate.StateGrace, InChat: true, GraceUntil: graceUntil}, graceUntil, gate.StateRemoving, gate.ActionRemove, "karma 89 < 90 (leave_below)"},
		{"back above the bar ends grace", wp, web(91), "", gate.Status{State: gate.StateGrace, InChat: true, GraceUntil: graceUntil}, t0, gate.StateMember, "", ""},
		{"removing waits for the worker", wp, web(10), "", gate.Status{State: gate.StateRemoving}, t0, gate.StateRemoving, "", ""},
		{"requalifying while removing keeps them", wp, web(150), "", gate.Status{State: gate.StateRemoving}, t0, gate.StateMember, "", ""},
		{"removed stays out", wp, web(10), "", gate.Status{State: gate.StateRemoved}, t0, gate.StateRemoved, "", ""},
		{"removed may come back", wp, web(150), "", gate.Status{State: gate.StateRemoved}, t0, gate.StateEligible, gate.ActionInvite, ""},
		{"invite withdrawn when no longer qualifying", wp, web(10), "", gate.Status{State: gate.StateInvited}, t0, gate.StateNotEligible, gate.ActionUninvite, ""},
		{"pending invite just drops", wp, web(10), "", gate.Status{State: gate.StateEligible}, t0, gate.StateNotEligible, "", ""},
		{"flag instead of remove", cc, gate.Member{Karma: 10, Groups: []string{"customers"}, Linked: true}, "", in(gate.StateMember), t0, gate.StateNotEligible, gate.ActionFlag, "karma 10 < 50; flagged for the admins (on_violation: flag)"},
		{"flag only once", cc, gate.Member{Karma: 9, Groups: []string{"customers"}, Linked: true}, "", in(gate.StateNotEligible), t0, gate.StateNotEligible, "", ""},
		{"no grace removes at once", cc, gate.Member{Karma: 10, Groups: []string{"customers"}, Linked: true}, gate.OverrideNever, in(gate.StateMember), t0, gate.StateRemoving, gate.ActionRemove, "manual override: never in"},
		{"never keeps a qualifying member out", wp, web(1000), gate.OverrideNever, gate.Status{}, t0, gate.StateNotEligible, "", "manual override: never in"},
		{"never skips grace", wp, web(1000), gate.OverrideNever, in(gate.StateMember), t0, gate.StateRemoving, gate.ActionRemove, ""},
		{"always lets anyone in", wp, web(-50), gate.OverrideAlways, gate.Status{}, t0, gate.StateExempt, gate.ActionInvite, "manual override: always in"},
		{"always waits for a link", wp, gate.Member{Karma: -50}, gate.OverrideAlways, gate.Status{}, t0, gate.StateNeedsLink, "", ""},
		{"always does not invite twice", wp, web(-50), gate.OverrideAlways, gate.Status{State: gate.StateExempt}, t0, gate.StateExempt, "", ""},
		{"always keeps a member without invite", wp, web(-50), gate.OverrideAlways, in(gate.StateMember), t0, gate.StateExempt, "", ""},
		{"lifting always on a low member starts grace", wp, web(-50), "", in(gate.StateExempt), t0, gate.StateGrace, gate.ActionWarn, ""},
		{"lifting always before joining withdraws the invite", wp, web(-50), "", gate.Status{State: gate.StateExempt}, t0, gate.StateNotEligible, gate.ActionUninvite, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := r.Evaluate(tt.chat, tt.m, tt.ov, tt.cur, tt.now)
			if d.State != tt.state || d.Action != tt.action {
				t.Errorf("got %s/%q, want %s/%q (reason %q)", d.State, d.Action, tt.state, tt.action, d.Reason)
			}
			if tt.reason != "" && d.Reason.String() != tt.reason {
				t.Errorf("reason = %q, want %q", d.Reason, tt.reason)
			}
		})
	}
}

func TestRules_EvaluateManyGroups(t *testing.T) {
	// More than 64 distinct groups switches matching to the map fallback.
	src := "chats:\n"
	for i := range 70 {
		src += fmt.Sprintf("  c%d:\n    title: C%d\n    groups: [g%d, shared]\n    min_karma: %d\n", i, i, i, i)
	}
	r := MustParse(t, src)
	c, _ := r.Chat("c69")
	d := r.Evaluate(c, gate.Member{Karma: 69, Groups: []string{"g69"}, Linked: true}, "", gate.Status{}, t0)
	if d.State != gate.StateEligible {
		t.Fatalf("state = %s (%s)", d.State, d.Reason)
	}
	d = r.Evaluate(c, gate.Member{Karma: 69, Groups: []string{"g1"}, Linked: true}, "", gate.Status{}, t0)
	if d.State != gate.StateNotEligible {
		t.Fatalf("state = %s (%s)", d.State, d.Reason)
	}
}

func TestRules_PlanMember(t *testing.T) {
	r := MustParse(t, goodRules)
	m := gate.Member{Karma: 120, Groups: []string{"webmasters"}, Linked: true}
	got := r.PlanMember(m, nil, nil, t0, nil)
	// webmasters-pro: eligible+invite; everyone: eligible+invite;
	// customers-club stays not_eligible, which needs no record.
	if len(got) != 2 {
		t.Fatalf("changes = %+v", got)
	}
	cur := make([]gate.Status, len(r.Chats))
	for _, c := range got {
		cur[c.Chat] = gate.Status{State: c.Decision.State}
	}
	if again := r.PlanMember(m, cur, nil, t0, nil); len(again) != 0 {
		t.Fatalf("planning the same member twice changed %+v", again)
	}
}
