package worker_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/worker"
)

// TestOutage: a run of failures waits longer each time (with jitter,
// within Base and Max) and is logged once as it starts and once as it
// ends, however many times it fails.
func TestOutage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int
		base     time.Duration
		max      time.Duration
	}{
		{"one failure", 1, time.Second, 30 * time.Second},
		{"a long outage", 40, time.Second, 30 * time.Second},
		{"defaults", 12, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			o := worker.Outage{What: "claim", Logger: slog.New(slog.NewTextHandler(&buf, nil)), Base: tc.base, Max: tc.max}
			base, maxWait := tc.base, tc.max
			if base == 0 {
				base, maxWait = time.Second, 10*time.Second
			}
			ctx := context.Background()
			for round := range 2 {
				for n := 1; n <= tc.failures; n++ {
					want := min(base<<min(n-1, 20), maxWait)
					if got := o.Fail(ctx, errors.New("connection refused")); got < want/2 || got > want {
						t.Fatalf("round %d, failure %d: waited %s, want %s to %s", round, n, got, want/2, want)
					}
				}
				if o.Failures() != tc.failures {
					t.Fatalf("Failures() = %d", o.Failures())
				}
				o.OK(ctx)
				o.OK(ctx) // a success with no outage logs nothing
			}
			logs := buf.String()
			if got := strings.Count(logs, "claim failed; backing off"); got != 2 {
				t.Errorf("outage logged %d times over two outages, want 2:\n%s", got, logs)
			}
			if got := strings.Count(logs, "claim works again"); got != 2 {
				t.Errorf("recovery logged %d times over two outages, want 2:\n%s", got, logs)
			}
		})
	}
}
