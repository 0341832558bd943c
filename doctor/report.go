package doctor

import (
	"fmt"
	"io"
	"strings"
)

// Status is a check's verdict.
type Status int

// The verdicts: OK and Warn leave a setup production-ready, Fail does not;
// Skip is a check that could not run because one it needs failed.
const (
	OK Status = iota
	Warn
	Fail
	Skip
)

// Mark is the status as printed at the start of its line.
func (s Status) Mark() string {
	switch s {
	case OK:
		return "✓"
	case Warn:
		return "!"
	case Fail:
		return "✗"
	default:
		return "-"
	}
}

// Result is one check's outcome: what was checked (Name), what was found
// (Detail) and, unless OK, what to do (Fix).
type Result struct {
	Status Status
	Name   string
	Detail string
	Fix    string
}

// Report is the outcome of every check, in the order they ran.
type Report []Result

// Ready reports whether no check failed.
func (r Report) Ready() bool { return r.Count(Fail) == 0 }

// Count is how many checks had the status.
func (r Report) Count(s Status) int {
	n := 0
	for _, c := range r {
		if c.Status == s {
			n++
		}
	}
	return n
}

// Write prints the report, one line per check (its fix indented below),
// then a verdict.
func (r Report) Write(w io.Writer) error {
	var b strings.Builder
	for _, c := range r {
		fmt.Fprintf(&b, "%s %s: %s\n", c.Status.Mark(), c.Name, c.Detail)
		if c.Fix != "" && c.Status != OK {
			fmt.Fprintf(&b, "    → %s\n", c.Fix)
		}
	}
	if r.Ready() {
		fmt.Fprintf(&b, "\nready for production (%d checks passed, %d warnings)\n", r.Count(OK), r.Count(Warn))
	} else {
		fmt.Fprintf(&b, "\nnot ready: %d to fix (✗ above)\n", r.Count(Fail))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
