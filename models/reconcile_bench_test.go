package models_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// EnvBenchReconcile sets the members BenchmarkStore_Reconcile plans
// (2,000 by default, so that CI runs it quickly).
const EnvBenchReconcile = "KARMAGATE_BENCH_RECONCILE"

// benchRules gates 20 chats: chat i takes group g(i mod 10) at karma
// 100 (i < 10) or 200, stays down to 10 below, with a day's grace on the
// odd ones.
func benchRules() string {
	var b strings.Builder
	b.WriteString("groups: [g0, g1, g2, g3, g4, g5, g6, g7, g8, g9]\nchats:\n")
	for i := range 20 {
		min := 100 + 100*(i/10)
		fmt.Fprintf(&b, "  chat-%02d:\n    title: Chat %d\n    groups: [g%d]\n    min_karma: %d\n    leave_below: %d\n", i, i, i%10, min, min-10)
		if i%2 == 1 {
			b.WriteString("    grace: 24h\n")
		}
	}
	return b.String()
}

// BenchmarkStore_Reconcile measures the database side of a full reconcile
// pass (Store.ReplanEvery) over N members (KARMAGATE_BENCH_RECONCILE) and
// 20 chats, each member in two groups with karma spread over 0-399, all
// linked: wall time and SQL statements, counted by a gorm callback on
// every statement the store runs. It prints three passes: the first after
// every member was linked behind the store's back (every plan changes),
// one where 10% of the karma changed, and one where nothing did (the
// scheduled pass's usual case); the timed loop is the last kind.
func BenchmarkStore_Reconcile(b *testing.B) {
	n := 2000
	if v := os.Getenv(EnvBenchReconcile); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a number of members", EnvBenchReconcile, v)
		}
	}
	for _, kind := range []string{"sqlite", "mysql"} {
		b.Run(kind, func(b *testing.B) {
			spec, ok := modelstest.Specs(b)[kind]
			if !ok {
				b.Skipf("%s not configured (set %s)", kind, modelstest.EnvMySQL)
			}
			ctx := context.Background()
			db := modelstest.MustOpen(b, spec)
			store := models.NewStore(db, modelstest.MustRules(b, benchRules()), models.Options{})
			var stmts, txs atomic.Int64
			models.CountStatements(db, func(string) { stmts.Add(1) })
			models.SetBeganHook(store, func() { txs.Add(1) })

			seed := time.Now()
			const batch = 5000
			for lo := 0; lo < n; lo += batch {
				ins := make([]models.MemberInput, 0, batch)
				for i := lo; i < min(lo+batch, n); i++ {
					ins = append(ins, models.MemberInput{ID: fmt.Sprintf("m%d", i), Karma: int64(i*37%400) - 0,
						Groups: sortedGroups(i%10, (i/10)%10)})
				}
				if _, err := store.PutMembers(ctx, ins, "bench"); err != nil {
					b.Fatal(err)
				}
			}
			// Everyone linked at once, behind the store's back: the next pass
			// re-plans every member who qualifies somewhere.
			if err := db.Gorm().Exec("UPDATE members SET tg_user_id = id + 1000000000").Error; err != nil {
				b.Fatal(err)
			}
			b.Logf("seeded %d members in %s", n, time.Since(seed).Round(time.Millisecond))

			pass := func(what string) {
				b.Helper()
				stmts.Store(0)
				txs.Store(0)
				start := time.Now()
				r, err := store.ReplanEvery(ctx, "bench")
				if err != nil {
					b.Fatal(err)
				}
				took := time.Since(start)
				fmt.Printf("reconcile %s: %d members x 20 chats, %s: %s, %d SQL statements in %d transactions; %d members changed, %d actions queued\n",
					kind, n, what, took.Round(time.Millisecond), stmts.Load(), txs.Load(), r.Changed, r.Queued.Total())
				if r.Members != n {
					b.Fatalf("planned %d members, want %d", r.Members, n)
				}
			}
			pass("all linked (every plan changes)")
			if err := db.Gorm().Exec("UPDATE members SET karma = karma + 150 WHERE id % 10 = 0").Error; err != nil {
				b.Fatal(err)
			}
			pass("10% of karma changed")
			pass("nothing changed")
			for b.Loop() {
				stmts.Store(0)
				if _, err := store.ReplanEvery(ctx, "bench"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(stmts.Load()), "stmts/pass")
			b.ReportMetric(float64(n), "members")
		})
	}
}

func sortedGroups(a, b int) []string {
	if a == b {
		return []string{fmt.Sprintf("g%d", a)}
	}
	a, b = min(a, b), max(a, b)
	return []string{fmt.Sprintf("g%d", a), fmt.Sprintf("g%d", b)}
}
