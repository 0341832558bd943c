package main

import (
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
)

// TestConfigFromEnv_MaxRemovals: KARMAGATE_MAX_REMOVALS sets the removal
// breaker of every chat, and a bad value is refused with what to write.
func TestConfigFromEnv_MaxRemovals(t *testing.T) {
	tests := []struct {
		in   string
		want gate.RemovalCap
		err  string
	}{
		{"", gate.RemovalCap{}, ""},
		{"25/1h", gate.RemovalCap{Count: 25, Window: time.Hour}, ""},
		{"5%/12h", gate.RemovalCap{Percent: 5, Window: 12 * time.Hour}, ""},
		{"none", gate.RemovalCap{Off: true}, ""},
		{"10", gate.RemovalCap{}, `KARMAGATE_MAX_REMOVALS: "10" is not a cap`},
		{"10%/forever", gate.RemovalCap{}, "KARMAGATE_MAX_REMOVALS: \"10%/forever\": the window"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := ConfigFromEnv(mapEnv("KARMAGATE_MAX_REMOVALS", tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "default is 10%/24h") {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil && strings.Contains(err.Error(), "KARMAGATE_MAX_REMOVALS") {
				t.Fatal(err)
			}
			if c.MaxRemovals != tt.want {
				t.Errorf("MaxRemovals = %+v, want %+v", c.MaxRemovals, tt.want)
			}
		})
	}
}
