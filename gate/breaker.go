package gate

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// RemovalCap is a chat's removal breaker (max_removals: in the rules file,
// KARMAGATE_MAX_REMOVALS for every chat): at most so many removals may start
// in the chat within Window; the rest are held until an admin confirms
// them. Either Count is set (25/1h), or Percent of the people inside the
// chat, never fewer than MinRemovalCap (10%/24h). Off turns the breaker off
// (none). The zero value is the default, DefaultRemovalCap.
type RemovalCap struct {
	Off     bool
	Percent float64 // 0 < Percent <= 100 in the percentage form
	Count   int     // > 0 in the count form
	Window  time.Duration
}

// MinRemovalCap is the fewest removals the percentage form allows in a
// window, whatever the size of the chat: small groups and ordinary churn
// never trip the breaker.
const MinRemovalCap = 10

// DefaultRemovalCap is the breaker of a chat that sets none: 10% of the
// people inside per 24 hours, never fewer than 10.
var DefaultRemovalCap = RemovalCap{Percent: 10, Window: 24 * time.Hour}

// Bounds of the window.
const (
	MinRemovalWindow = time.Minute
	MaxRemovalWindow = 366 * 24 * time.Hour
)

// IsZero reports whether c is unset (then the default applies).
func (c RemovalCap) IsZero() bool { return c == RemovalCap{} }

// Limit is how many removals may start within the window in a chat with
// inside people in it; -1 when the breaker is off.
func (c RemovalCap) Limit(inside int) int {
	switch {
	case c.Off:
		return -1
	case c.IsZero():
		return DefaultRemovalCap.Limit(inside)
	case c.Count > 0:
		return c.Count
	}
	n := int(math.Floor(float64(max(inside, 0)) * c.Percent / 100))
	return max(n, MinRemovalCap)
}

// WindowOrDefault is the window, the default's when c is unset.
func (c RemovalCap) WindowOrDefault() time.Duration {
	if c.IsZero() {
		return DefaultRemovalCap.Window
	}
	return c.Window
}

// String writes c as the rules file does: 10%/24h, 25/1h or none.
func (c RemovalCap) String() string {
	switch {
	case c.Off:
		return "none"
	case c.IsZero():
		return DefaultRemovalCap.String()
	case c.Count > 0:
		return fmt.Sprintf("%d/%s", c.Count, FormatWindow(c.Window))
	}
	return strconv.FormatFloat(c.Percent, 'f', -1, 64) + "%/" + FormatWindow(c.Window)
}

// FormatWindow writes a window as the rules file does: 24h, 1h30m, 7d.
func FormatWindow(d time.Duration) string {
	const day = 24 * time.Hour
	if d > day && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// ParseRemovalCap reads a removal breaker: "10%/24h" (a share of the
// people inside, never fewer than 10), "25/1h" (a count) or "none". The
// window is a Go duration or a number of days ("7d").
func ParseRemovalCap(s string) (RemovalCap, error) {
	s = strings.TrimSpace(s)
	if s == "none" {
		return RemovalCap{Off: true}, nil
	}
	amount, window, ok := strings.Cut(s, "/")
	if !ok {
		return RemovalCap{}, fmt.Errorf("%q is not a cap: write a share and a window such as 10%%/24h, a count such as 25/1h, or none", s)
	}
	var c RemovalCap
	amount, window = strings.TrimSpace(amount), strings.TrimSpace(window)
	if pct, isPct := strings.CutSuffix(amount, "%"); isPct {
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 100 {
			return RemovalCap{}, fmt.Errorf("%q: the share must be above 0%% and at most 100%%, such as 10%%", s)
		}
		c.Percent = f
	} else {
		n, err := strconv.Atoi(amount)
		if err != nil || n < 1 || n > 1_000_000 {
			return RemovalCap{}, fmt.Errorf("%q: the count must be a whole number from 1 to 1000000, or a share such as 10%%", s)
		}
		c.Count = n
	}
	d, err := parseWindow(window)
	if err != nil {
		return RemovalCap{}, fmt.Errorf("%q: %w", s, err)
	}
	c.Window = d
	return c, nil
}

func parseWindow(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("the window %q is not a duration (use e.g. 24h, 90m, 7d)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("the window %q is not a duration (use e.g. 24h, 90m, 7d)", s)
		}
	}
	if d < MinRemovalWindow || d > MaxRemovalWindow {
		return 0, fmt.Errorf("the window must be between 1m and 366d, not %s", s)
	}
	return d, nil
}

// removalCap reads a chat's max_removals:.
func (p parser) removalCap(v *yaml.Node, what string) (RemovalCap, error) {
	if v.Kind != yaml.ScalarNode {
		return RemovalCap{}, p.errf(v, "%s must be a cap such as 10%%/24h, 25/1h or none", what)
	}
	c, err := ParseRemovalCap(v.Value)
	if err != nil {
		return RemovalCap{}, p.errf(v, "%s: %v", what, err)
	}
	return c, nil
}
