package gate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/gate"
)

// TestParseRules_Door: door: and review: are read per chat, silent and
// false by default; every mistake in them is told at once, with its line.
func TestParseRules_Door(t *testing.T) {
	const head = "chats:\n  club:\n    title: Club\n    groups: [webmasters]\n    min_karma: 10\n"
	for _, tc := range []struct {
		name   string
		extra  string
		door   gate.Door
		review bool
	}{
		{"default", "", gate.DoorSilent, false},
		{"silent", "    door: silent\n", gate.DoorSilent, false},
		{"app", "    door: app\n", gate.DoorApp, false},
		{"app and review", "    door: app\n    review: true\n", gate.DoorApp, true},
		{"review alone", "    review: true\n", gate.DoorSilent, true},
		{"review false", "    review: false\n", gate.DoorSilent, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := gate.ParseRules("rules.yaml", []byte(head+tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			c, _ := r.Chat("club")
			if c.Door != tc.door || c.Review != tc.review {
				t.Errorf("door %q review %v, want %q %v", c.Door, c.Review, tc.door, tc.review)
			}
		})
	}

	t.Run("mistakes", func(t *testing.T) {
		src := head + "    door: open\n    review: maybe\n  other:\n    title: Other\n    groups: [webmasters]\n    min_karma: 1\n    door: [app]\n"
		_, err := gate.ParseRules("rules.yaml", []byte(src))
		var es gate.Errors
		if !errors.As(err, &es) {
			t.Fatalf("err = %v, want every mistake", err)
		}
		want := []struct {
			line int
			text string
		}{{6, `chats.club.door must be silent or app, not "open"`}, {7, "chats.club.review must be true or false"}, {12, "chats.other.door must be silent or app"}}
		if len(es) != len(want) {
			t.Fatalf("%d problems, want %d:\n%v", len(es), len(want), err)
		}
		for i, w := range want {
			if es[i].Line != w.line || !strings.Contains(es[i].Msg, w.text) {
				t.Errorf("problem %d = %v, want line %d: %s", i, es[i], w.line, w.text)
			}
		}
	})
}
