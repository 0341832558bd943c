package models_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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
// every statement the store runs.
//
// Sub-benchmark worst (per database) times the pass where every plan
// changes: every member linked at once behind the store's back, so three
// quarters of them move and each writes states, actions and events; each
// iteration seeds a fresh database. Sub-benchmark usual prints that pass,
// one where 10% of the karma changed, and times the one where nothing did
// (the scheduled pass's usual case).
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
			if _, ok := modelstest.Specs(b)[kind]; !ok {
				b.Skipf("%s not configured (set %s)", kind, modelstest.EnvMySQL)
			}
			b.Run("worst", func(b *testing.B) {
				var took, cpu time.Duration
				var stmts int64
				var r models.Replan
				for b.Loop() {
					b.StopTimer()
					store, db, count := seedReconcile(b, kind, n)
					b.StartTimer()
					stop := profilePass(b)
					start, cpu0 := time.Now(), cpuTime()
					var err error
					if r, err = store.ReplanEvery(context.Background(), "bench"); err != nil {
						b.Fatal(err)
					}
					took += time.Since(start)
					cpu += cpuTime() - cpu0
					stop()
					stmts += count.Load()
					b.StopTimer()
					count.Store(0)
					db.Close()
					b.StartTimer()
				}
				fmt.Printf("reconcile %s worst: %d members x 20 chats, every plan changes: %s (this process's CPU %s), %d SQL statements; %d members changed, %d actions queued (load %s)\n",
					kind, n, (took / time.Duration(b.N)).Round(time.Millisecond), (cpu / time.Duration(b.N)).Round(time.Millisecond),
					stmts/int64(b.N), r.Changed, r.Queued.Total(), loadAvg())
				b.ReportMetric(took.Seconds()/float64(b.N), "s/pass")
				b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/pass")
				b.ReportMetric(float64(stmts)/float64(b.N), "stmts/pass")
				b.ReportMetric(float64(r.Changed), "changed")
				b.ReportMetric(float64(r.Queued.Total()), "actions")
			})
			b.Run("usual", func(b *testing.B) {
				store, db, stmts := seedReconcile(b, kind, n)
				ctx := context.Background()
				pass := func(what string) {
					b.Helper()
					stmts.Store(0)
					start := time.Now()
					r, err := store.ReplanEvery(ctx, "bench")
					if err != nil {
						b.Fatal(err)
					}
					took := time.Since(start)
					fmt.Printf("reconcile %s: %d members x 20 chats, %s: %s, %d SQL statements; %d members changed, %d actions queued\n",
						kind, n, what, took.Round(time.Millisecond), stmts.Load(), r.Changed, r.Queued.Total())
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
		})
	}
}

// EnvBenchReconcileProfile names a file for a CPU profile of the timed
// passes of the worst case only (go test's -cpuprofile also covers the
// seeding, which is most of a run).
const EnvBenchReconcileProfile = "KARMAGATE_BENCH_RECONCILE_CPUPROFILE"

// profilePass starts the CPU profile EnvBenchReconcileProfile asks for and
// returns what stops it.
func profilePass(b *testing.B) func() {
	b.Helper()
	path := os.Getenv(EnvBenchReconcileProfile)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// seedReconcile opens a fresh database of kind holding n members, then
// links every one of them behind the store's back, so that the next pass
// re-plans every member who qualifies somewhere. The counter counts the
// statements run after it returns.
func seedReconcile(b *testing.B, kind string, n int) (*models.Store, *models.DB, *atomic.Int64) {
	b.Helper()
	ctx := context.Background()
	db := modelstest.MustOpen(b, modelstest.Specs(b)[kind])
	store := models.NewStore(db, modelstest.MustRules(b, benchRules()), models.Options{})
	seed := time.Now()
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		ins := make([]models.MemberInput, 0, batch)
		for i := lo; i < min(lo+batch, n); i++ {
			ins = append(ins, models.MemberInput{ID: fmt.Sprintf("m%d", i), Karma: int64(i * 37 % 400),
				Groups: sortedGroups(i%10, (i/10)%10)})
		}
		if _, err := store.PutMembers(ctx, ins, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	if err := db.Gorm().Exec("UPDATE members SET tg_user_id = id + 1000000000").Error; err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d members in %s", n, time.Since(seed).Round(time.Millisecond))
	var stmts atomic.Int64
	models.CountStatements(db, func(string) { stmts.Add(1) })
	return store, db, &stmts
}

// cpuTime is the CPU time this process used so far (user and system):
// unlike wall time, it does not grow with other work on the machine. On
// SQLite, which runs in the process, it is the pass's cost; on MySQL the
// server's share is not in it.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAvg is the machine's load average over the last minute, for the
// figures printed (other work on the machine slows a run).
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) == 0 {
		return "unknown"
	}
	return f[0]
}

func sortedGroups(a, b int) []string {
	if a == b {
		return []string{fmt.Sprintf("g%d", a)}
	}
	a, b = min(a, b), max(a, b)
	return []string{fmt.Sprintf("g%d", a), fmt.Sprintf("g%d", b)}
}
