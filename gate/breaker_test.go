package gate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
)

func TestParseRemovalCap(t *testing.T) {
	tests := []struct {
		in     string
		want   gate.RemovalCap
		str    string
		limits map[int]int // people inside -> cap
	}{
		{"10%/24h", gate.RemovalCap{Percent: 10, Window: 24 * time.Hour}, "10%/24h", map[int]int{0: 10, 12: 10, 100: 10, 150: 15, 1000: 100, 1009: 100}},
		{"25/1h", gate.RemovalCap{Count: 25, Window: time.Hour}, "25/1h", map[int]int{0: 25, 5: 25, 10000: 25}},
		{"5/90m", gate.RemovalCap{Count: 5, Window: 90 * time.Minute}, "5/1h30m", map[int]int{100: 5}},
		{"2.5%/7d", gate.RemovalCap{Percent: 2.5, Window: 7 * 24 * time.Hour}, "2.5%/7d", map[int]int{100: 10, 4000: 100}},
		{" 50% / 30m ", gate.RemovalCap{Percent: 50, Window: 30 * time.Minute}, "50%/30m", map[int]int{100: 50}},
		{"none", gate.RemovalCap{Off: true}, "none", map[int]int{0: -1, 1000: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := gate.ParseRemovalCap(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ParseRemovalCap = %+v, want %+v", got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String = %q, want %q", s, tt.str)
			}
			for inside, want := range tt.limits {
				if n := got.Limit(inside); n != want {
					t.Errorf("Limit(%d) = %d, want %d", inside, n, want)
				}
			}
		})
	}
	t.Run("zero is the default", func(t *testing.T) {
		var c gate.RemovalCap
		if c.Limit(100) != 10 || c.Limit(500) != 50 || c.WindowOrDefault() != 24*time.Hour || c.String() != "10%/24h" {
			t.Errorf("zero cap: limit %d, window %s, %q", c.Limit(500), c.WindowOrDefault(), c)
		}
	})
}

func TestParseRemovalCap_Bad(t *testing.T) {
	for _, in := range []string{"", "10%", "ten/1h", "0/1h", "-3/1h", "0%/24h", "101%/24h", "x%/1h", "10/", "10/soon", "10/30s", "10/400d", "10/-1h", "NaN%/1h", "off"} {
		t.Run(in, func(t *testing.T) {
			if c, err := gate.ParseRemovalCap(in); err == nil {
				t.Errorf("ParseRemovalCap(%q) = %+v, want an error", in, c)
			}
		})
	}
}

func TestParseRules_MaxRemovals(t *testing.T) {
	base := "chats:\n  pro:\n    title: Pro\n    groups: [webmasters]\n    min_karma: 100\n"
	tests := []struct {
		name, extra string
		want        gate.RemovalCap
		line        int
		err         string
	}{
		{name: "unset is the default", want: gate.RemovalCap{}},
		{name: "share", extra: "    max_removals: 10%/24h\n", want: gate.RemovalCap{Percent: 10, Window: 24 * time.Hour}},
		{name: "count", extra: "    max_removals: 25/1h\n", want: gate.RemovalCap{Count: 25, Window: time.Hour}},
		{name: "none", extra: "    max_removals: none\n", want: gate.RemovalCap{Off: true}},
		{name: "no window", extra: "    max_removals: 10%\n", line: 6, err: "chats.pro.max_removals: \"10%\" is not a cap"},
		{name: "bad count", extra: "    max_removals: lots/1h\n", line: 6, err: "chats.pro.max_removals: \"lots/1h\": the count must be"},
		{name: "bad share", extra: "    max_removals: 150%/1h\n", line: 6, err: "the share must be above 0% and at most 100%"},
		{name: "bad window", extra: "    max_removals: 25/a while\n", line: 6, err: "is not a duration"},
		{name: "short window", extra: "    max_removals: 25/10s\n", line: 6, err: "between 1m and 366d"},
		{name: "a list", extra: "    max_removals: [10, 1h]\n", line: 6, err: "chats.pro.max_removals must be a cap"},
		{name: "after other keys", extra: "    dry_run: true\n    max_removals: off\n", line: 7, err: "\"off\" is not a cap"},
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
			if c.MaxRemovals != tt.want {
				t.Errorf("MaxRemovals = %+v, want %+v", c.MaxRemovals, tt.want)
			}
		})
	}
}
