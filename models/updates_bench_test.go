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

// queue is what a drain benchmark drives: fill adds n waiting items,
// drain takes everything waiting out the way its worker does and answers
// how many it took.
type queue struct {
	fill  func(n int)
	drain func() int
}

// benchDrain puts KARMAGATE_BENCH_BACKLOG items (5,000 by default) behind
// four times as many done, then drains them, on each database, and prints
// the items a second through the queue alone: a claim must not cost more
// as the history or the backlog grows.
func benchDrain(b *testing.B, what string, open func(b *testing.B, store *models.Store) queue) {
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
			q := open(b, models.NewStore(modelstest.MustOpen(b, spec), modelstest.MustRules(b, modelstest.Rules), models.Options{}))
			q.fill(4 * pending)
			q.drain()
			var took time.Duration
			n := 0
			for b.Loop() {
				q.fill(pending)
				start := time.Now()
				n += q.drain()
				took += time.Since(start)
			}
			b.ReportMetric(float64(n)/took.Seconds(), what+"/s")
			fmt.Printf("drain %s %s: %d waiting behind %d done: %.0f %s/s (claim 16, settle each)\n", what, kind, pending, 4*pending, float64(n)/took.Seconds(), what)
		})
	}
}

// BenchmarkStore_DrainUpdates: stored updates (two a person, as after a
// burst of /start and join requests) claimed 16 at a time and finished,
// as the bot does.
func BenchmarkStore_DrainUpdates(b *testing.B) {
	benchDrain(b, "updates", func(b *testing.B, store *models.Store) queue {
		ctx := context.Background()
		next := int64(1)
		return queue{
			fill: func(n int) {
				var ups []models.Update
				for i := range n {
					ups = append(ups, models.Update{UpdateID: next, Lane: 1000 + int64(i%max(n/2, 1)), Kind: "message", Payload: fmt.Sprintf(`{"update_id":%d}`, next)})
					next++
					if len(ups) == 2000 || i == n-1 {
						if _, err := store.SaveUpdates(ctx, ups); err != nil {
							b.Fatal(err)
						}
						ups = ups[:0]
					}
				}
			},
			drain: func() int {
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
			},
		}
	})
}

// BenchmarkStore_DrainActions: queued messages claimed 16 at a time and
// completed, as the workers do.
func BenchmarkStore_DrainActions(b *testing.B) {
	benchDrain(b, "actions", func(b *testing.B, store *models.Store) queue {
		ctx := context.Background()
		next := 0
		return queue{
			fill: func(n int) {
				for range n {
					next++
					p := models.NoticePayload{Key: fmt.Sprintf("bench/%d", next), Kind: "bench", Text: "hello"}
					if err := store.QueueNotice(ctx, "", int64(1000+next%5000), "", p); err != nil {
						b.Fatal(err)
					}
				}
			},
			drain: func() int {
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
			},
		}
	})
}
