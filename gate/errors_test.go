package gate_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/karmagate/karmagate/gate"
)

// TestParseRules_EveryMistakeAtOnce: a rules file with several mistakes is
// told of all of them, each with its line, in the file's order — not only
// the first.
func TestParseRules_EveryMistakeAtOnce(t *testing.T) {
	src := `groups: [webmasters]
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: lots
  customers-club:
    titel: Customers Club
    groups: [webmasters]
    min_karma: 50
  Bad Key:
    title: X
    groups: [webmasters]
    min_karma: 1
`
	_, err := gate.ParseRules("rules.yaml", []byte(src))
	var es gate.Errors
	if !errors.As(err, &es) {
		t.Fatalf("err = %T %v, want gate.Errors", err, err)
	}
	if len(es) != 3 {
		t.Fatalf("%d problems told, want 3:\n%v", len(es), err)
	}
	for i, want := range []struct {
		line int
		text string
	}{{6, "min_karma"}, {8, "titel"}, {11, "Bad Key"}} {
		if es[i].Line != want.line || !strings.Contains(es[i].Msg, want.text) {
			t.Errorf("problem %d = %v, want line %d about %s", i, es[i], want.line, want.text)
		}
	}
	var first *gate.Error
	if !errors.As(err, &first) || first.Line != 6 {
		t.Errorf("errors.As finds %v, want the first problem", first)
	}
	if n := strings.Count(err.Error(), "\n"); n != 2 {
		t.Errorf("the message has %d lines, want 3:\n%s", n+1, err)
	}
}
