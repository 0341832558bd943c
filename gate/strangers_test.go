package gate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
)

func TestParseRules_Strangers(t *testing.T) {
	base := "chats:\n  pro:\n    title: Pro\n    groups: [webmasters]\n    min_karma: 100\n"
	tests := []struct {
		name, extra string
		want        gate.Strangers
		line        int
		err         string
	}{
		{name: "unset", want: gate.Strangers{}},
		{name: "keep", extra: "    strangers: keep\n", want: gate.Strangers{Set: true}},
		{name: "days", extra: "    strangers:\n      remove_after: 14d\n", want: gate.Strangers{Set: true, RemoveAfter: 14 * 24 * time.Hour}},
		{name: "flow", extra: "    strangers: {remove_after: 90m}\n", want: gate.Strangers{Set: true, RemoveAfter: 90 * time.Minute}},
		{name: "a word", extra: "    strangers: remove\n", line: 6, err: `chats.pro.strangers must be keep, or remove_after with a duration such as {remove_after: 14d}, not "remove"`},
		{name: "a list", extra: "    strangers: [keep]\n", line: 6, err: "chats.pro.strangers must be keep, or remove_after"},
		{name: "no clock", extra: "    strangers: {}\n", line: 6, err: "remove_after is required"},
		{name: "other field", extra: "    strangers: {after: 14d}\n", line: 6, err: `chats.pro.strangers: unknown field "after" (expected remove_after)`},
		{name: "bad clock", extra: "    strangers: {remove_after: soon}\n", line: 6, err: `chats.pro.strangers.remove_after: "soon" is not a duration`},
		{name: "short clock", extra: "    strangers: {remove_after: 30s}\n", line: 6, err: "between 1m and 366d"},
		{name: "long clock", extra: "    strangers: {remove_after: 400d}\n", line: 6, err: "between 1m and 366d"},
		{name: "clock a list", extra: "    strangers: {remove_after: [1d]}\n", line: 6, err: "remove_after must be a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := gate.ParseRules("rules.yaml", []byte(base+tt.extra))
			if tt.err != "" {
				var re *gate.Error
				if !errors.As(err, &re) {
					t.Fatalf("err = %v, want *gate.Error", err)
				}
				if re.Line != tt.line || !strings.Contains(re.Msg, tt.err) {
					t.Errorf("err = %q (line %d), want line %d containing %q", err, re.Line, tt.line, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, _ := r.Chat("pro")
			if c.Strangers != tt.want {
				t.Errorf("Strangers = %+v, want %+v", c.Strangers, tt.want)
			}
		})
	}
}

// TestParseRules_StrangersWithOtherMistakes: a bad strangers: is told with
// every other mistake of the file, each on its line.
func TestParseRules_StrangersWithOtherMistakes(t *testing.T) {
	src := "chats:\n  pro:\n    title: Pro\n    groups: [webmasters]\n    min_karma: 100\n    strangers: {remove_after: 5s}\n    max_removals: lots\n"
	_, err := gate.ParseRules("rules.yaml", []byte(src))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"rules.yaml:6: chats.pro.strangers.remove_after", "rules.yaml:7: chats.pro.max_removals"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want %q", err, want)
		}
	}
}
