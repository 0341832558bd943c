package gate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
)

const sourceChats = "chats:\n  a:\n    title: A\n    groups: [x]\n    min_karma: 1\n"

func TestParseRules_Source(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		query     string
		every     time.Duration
		maxDelete int
	}{
		{"defaults", "source:\n  query: SELECT id, karma, groups FROM users\n",
			"SELECT id, karma, groups FROM users", gate.DefaultSourceEvery, gate.DefaultMaxDeletePercent},
		{"all fields", "source:\n  query: select id, karma, g AS groups from u;\n  every: 30s\n  max_delete: 0%\n",
			"select id, karma, g AS groups from u", 30 * time.Second, 0},
		{"block scalar with comment", "source:\n  query: |\n    -- members and their groups\n    WITH g AS (SELECT 1)\n    SELECT id, karma, groups FROM users\n  every: 24h\n  max_delete: 100%\n",
			"-- members and their groups\nWITH g AS (SELECT 1)\nSELECT id, karma, groups FROM users", 24 * time.Hour, 100},
		{"parenthesised", "source:\n  query: (SELECT id, karma, groups FROM a) UNION (SELECT id, karma, groups FROM b)\n",
			"(SELECT id, karma, groups FROM a) UNION (SELECT id, karma, groups FROM b)", gate.DefaultSourceEvery, gate.DefaultMaxDeletePercent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := MustParse(t, sourceChats+tt.src)
			if r.Source == nil {
				t.Fatal("Source is nil")
			}
			if r.Source.Query != tt.query || r.Source.Every != tt.every || r.Source.MaxDeletePercent != tt.maxDelete {
				t.Errorf("Source = %+v, want query %q every %s max_delete %d", r.Source, tt.query, tt.every, tt.maxDelete)
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		if r := MustParse(t, sourceChats); r.Source != nil {
			t.Errorf("Source = %+v, want nil", r.Source)
		}
	})
}

func TestParseRules_SourceBad(t *testing.T) {
	const base = 6 // the line source: is on
	tests := []struct {
		name string
		src  string
		line int
		want string
	}{
		{"no query", "source:\n  every: 1m\n", base + 1, "query is required"},
		{"empty query", "source:\n  query: ''\n", base + 1, "is empty"},
		{"not a select", "source:\n  query: DELETE FROM users\n", base + 1, "must be a SELECT"},
		{"update hidden behind a comment", "source:\n  query: \"/* SELECT */ UPDATE users SET karma = 0\"\n", base + 1, "must be a SELECT"},
		{"two statements", "source:\n  query: SELECT 1; DROP TABLE users\n", base + 1, "holds a ';'"},
		{"query not text", "source:\n  query: [a, b]\n", base + 1, "must be text"},
		{"unknown field", "source:\n  query: SELECT 1\n  evry: 1m\n", base + 2, `unknown field "evry"`},
		{"repeated field", "source:\n  query: SELECT 1\n  query: SELECT 2\n", base + 2, "repeated"},
		{"bad every", "source:\n  query: SELECT 1\n  every: often\n", base + 2, "not a duration"},
		{"every too short", "source:\n  query: SELECT 1\n  every: 1s\n", base + 2, "between 10s and 24h"},
		{"every too long", "source:\n  query: SELECT 1\n  every: 48h\n", base + 2, "between 10s and 24h"},
		{"max_delete without %", "source:\n  query: SELECT 1\n  max_delete: 10\n", base + 2, "percentage"},
		{"max_delete over 100", "source:\n  query: SELECT 1\n  max_delete: 150%\n", base + 2, "percentage"},
		{"source not mapping", "source: SELECT 1\n", base, "must be a mapping"},
		{"oversized query", "source:\n  query: SELECT '" + strings.Repeat("x", gate.MaxSourceQuery) + "'\n", base + 1, "bytes; at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gate.ParseRules("rules.yaml", []byte(sourceChats+tt.src))
			var re *gate.Error
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want *gate.Error", err)
			}
			if re.Line != tt.line || !strings.Contains(re.Msg, tt.want) {
				t.Errorf("err = %q (line %d), want line %d containing %q", err, re.Line, tt.line, tt.want)
			}
		})
	}
}
