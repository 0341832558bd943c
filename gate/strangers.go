package gate

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Strangers says what happens to people inside a gated chat whom no member
// is linked to, found there by an audit or seen in the group (strangers:
// in the rules file). Someone who joins through a link karmagate did not
// give is removed at once whatever it says (a leaked link); this is about
// people who were inside already.
type Strangers struct {
	// Set: the file says strangers: for the chat. Unset, a chat bound by
	// hand keeps its strangers and a chat karmagate created (nobody was
	// inside before it) removes or flags them at once, as on_violation
	// says.
	Set bool
	// RemoveAfter, when not zero, removes a stranger that long after
	// karmagate first saw them (strangers: {remove_after: 14d}); zero
	// keeps them (strangers: keep).
	RemoveAfter time.Duration
}

// Bounds of remove_after.
const (
	MinStrangerClock = time.Minute
	MaxStrangerClock = 366 * 24 * time.Hour
)

// Keep reports whether the rule keeps strangers.
func (s Strangers) Keep() bool { return s.RemoveAfter == 0 }

// String writes the rule as the rules file does.
func (s Strangers) String() string {
	switch {
	case !s.Set:
		return "default"
	case s.Keep():
		return "keep"
	}
	return "remove_after " + FormatWindow(s.RemoveAfter)
}

// ParseStrangerClock reads remove_after's duration: a Go duration (90m,
// 36h) or a number of days (14d), from 1m to 366d.
func ParseStrangerClock(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration (use e.g. 14d, 36h, 90m)", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration (use e.g. 14d, 36h, 90m)", s)
		}
	}
	if d < MinStrangerClock || d > MaxStrangerClock {
		return 0, fmt.Errorf("%q must be between 1m and 366d", s)
	}
	return d, nil
}

// strangers reads a chat's strangers: keep, or a mapping with remove_after.
func (p parser) strangers(v *yaml.Node, what string) (Strangers, error) {
	const want = "%s must be keep, or remove_after with a duration such as {remove_after: 14d}"
	switch v.Kind {
	case yaml.ScalarNode:
		if strings.TrimSpace(v.Value) != "keep" {
			return Strangers{}, p.errf(v, want+", not %q", what, v.Value)
		}
		return Strangers{Set: true}, nil
	case yaml.MappingNode:
		out := Strangers{Set: true}
		var have bool
		err := p.mapping(v, what, func(field string, k, fv *yaml.Node) error {
			if field != "remove_after" {
				return p.errf(k, "%s: unknown field %q (expected remove_after)", what, field)
			}
			have = true
			if fv.Kind != yaml.ScalarNode {
				return p.errf(fv, "%s.remove_after must be a duration such as 14d", what)
			}
			d, err := ParseStrangerClock(fv.Value)
			if err != nil {
				return p.errf(fv, "%s.remove_after: %v", what, err)
			}
			out.RemoveAfter = d
			return nil
		})
		if err != nil {
			return Strangers{}, err
		}
		if !have {
			return Strangers{}, p.errf(v, "%s: remove_after is required in the mapping (or write strangers: keep)", what)
		}
		return out, nil
	}
	return Strangers{}, p.errf(v, want, what)
}
