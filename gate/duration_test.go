package gate_test

import (
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
)

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{24 * time.Hour, "24h"},
		{90 * time.Minute, "1h30m"},
		{45 * time.Second, "45s"},
		{time.Hour + 5*time.Second, "1h0m5s"},
		{2 * time.Minute, "2m"},
		{90 * time.Second, "1m30s"},
		{0, "0s"},
	} {
		if got := gate.FormatDuration(tc.d); got != tc.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
