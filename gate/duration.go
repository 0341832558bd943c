package gate

import (
	"strings"
	"time"
)

// FormatDuration writes d as a rules file does, without zero units: 24h,
// 1h30m, 45s (time.Duration's String says 24h0m0s).
func FormatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
