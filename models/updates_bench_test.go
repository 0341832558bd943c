package models_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// BenchmarkStore_DrainUpdates: a backlog of stored updates (one to three a
// person, as after a burst of /start and join requests), behind a history
// of updates already done, drained the way the bot does: claim 16, finish
// each, claim again. The figure is updates a second through the queue
// alone (KARMAGATE_BENCH_BACKLOG pending, 5,000 by default; 4× as many
// done): the claim must not cost more as the backlog grows.
func BenchmarkStore_DrainUpdates(b *testing.B) {
	pending := 5000
	if v, err := strconv.Atoi(os.Getenv("KARMAGATE_BENCH_BACKLOG")); err == nil && v > 0 {
		pending = v
	}
	for _, kind := range []string{"sqlite", "mysql"} {
		b.Run(kind, func(b *testing.B) {
			spec, ok := modelstest.Specs(b)[kind]
			if !ok {
				b.Skipf("%s not configured (set %s)", kind, modelstest.EnvMySQL)
			}
			ctx := context.Background()
			store := models.NewStore(modelstest.MustOpen(b, spec), modelstest.MustRules(b, modelstest.Rules), models.Options{})
			next := int64(1)
			fill := func(n int, lanes int64) {
				var ups []models.Update
				for i := range n {
					ups = append(ups, models.Update{UpdateID: next, Lane: 1000 + int64(i)%lanes, Kind: "message", Payload: fmt.Sprintf(`{"update_id":%d}`, next)})
					next++
					if len(ups) == 2000 || i == n-1 {
						if _, err := store.SaveUpdates(ctx, ups); err != nil {
							b.Fatal(err)
						}
						ups = ups[:0]
					}
				}
			}
			drain := func() int {
				done := 0
				for {
					ups, err := store.ClaimUpdates(ctx, "bench", 16, time.Minute)
					if err != nil {
						b.Fatal(err)
					}
					if len(ups) == 0 {
						return done
					}
					for _, u := range ups {
						if err := store.FinishUpdate(ctx, u.UpdateID, "bench", nil, nil); err != nil {
							b.Fatal(err)
						}
					}
					done += len(ups)
				}
			}
			fill(4*pending, int64(pending))
			drain()
			var took time.Duration
			n := 0
			for b.Loop() {
				fill(pending, int64(pending)/2) // two a person
				start := time.Now()
				n += drain()
				took += time.Since(start)
			}
			b.ReportMetric(float64(n)/took.Seconds(), "updates/s")
			fmt.Printf("drain %s: %d pending behind the done: %.0f updates/s (claim 16, finish each)\n", kind, pending, float64(n)/took.Seconds())
		})
	}
}

// BenchmarkStore_DrainActions is the same for the outbox: queued
// messages behind four times as many done, claimed 16 at a time and
// completed (KARMAGATE_BENCH_BACKLOG).
func BenchmarkStore_DrainActions(b *testing.B) {
	pending := 5000
	if v, err := strconv.Atoi(os.Getenv("KARMAGATE_BENCH_BACKLOG")); err == nil && v > 0 {
		pending = v
	}
	for _, kind := range []string{"sqlite", "mysql"} {
		b.Run(kind, func(b *testing.B) {
			spec, ok := modelstest.Specs(b)[kind]
			if !ok {
				b.Skipf("%s not configured (set %s)", kind, modelstest.EnvMySQL)
			}
			ctx := context.Background()
			store := models.NewStore(modelstest.MustOpen(b, spec), modelstest.MustRules(b, modelstest.Rules), models.Options{})
			next := 0
			fill := func(n int) {
				for range n {
					next++
					p := models.NoticePayload{Key: fmt.Sprintf("bench/%d", next), Kind: "bench", Text: "hello"}
					if err := store.QueueNotice(ctx, "", int64(1000+next%pending), "", p); err != nil {
						b.Fatal(err)
					}
				}
			}
			drain := func() int {
				done := 0
				for {
					as, err := store.ClaimActions(ctx, "bench", 16, time.Minute)
					if err != nil {
						b.Fatal(err)
					}
					if len(as) == 0 {
						return done
					}
					for _, a := range as {
						if err := store.CompleteAction(ctx, a.ID, "bench", "bench"); err != nil {
							b.Fatal(err)
						}
					}
					done += len(as)
				}
			}
			fill(4 * pending)
			drain()
			var took time.Duration
			n := 0
			for b.Loop() {
				fill(pending)
				start := time.Now()
				n += drain()
				took += time.Since(start)
			}
			b.ReportMetric(float64(n)/took.Seconds(), "actions/s")
			fmt.Printf("drain actions %s: %d pending behind the done: %.0f actions/s (claim 16, complete each)\n", kind, pending, float64(n)/took.Seconds())
		})
	}
}
