package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// benchStore opens a fresh database of the named kind for a benchmark.
func benchStore(b *testing.B, kind string) *models.Store {
	b.Helper()
	spec, ok := modelstest.Specs(b)[kind]
	if !ok {
		b.Skipf("%s not configured (set %s)", kind, modelstest.EnvMySQL)
	}
	db := modelstest.MustOpen(b, spec)
	return models.NewStore(db, modelstest.MustRules(b, modelstest.Rules), models.Options{})
}

// runConcurrent runs total calls of op on workers goroutines and returns
// how long they took.
func runConcurrent(b *testing.B, workers, total int, op func(i int) error) time.Duration {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total {
					return
				}
				if err := op(i); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// BenchmarkPutThroughput measures single-member PUT upserts per second
// through HTTP (group commit: concurrent PUTs share a transaction, each
// answered after its commit), on SQLite and on MariaDB, against the same
// group commit called from Go, the single-member store call (one
// transaction per PUT: the gate's planning and outbox), and a bare
// one-statement upsert, in the same run. 16 clients; members cycle
// through 1,000 ids with changing karma, so most calls update and
// re-plan. Each rate is every call of its kind over every pass, divided
// by the time they took.
func BenchmarkPutThroughput(b *testing.B) {
	for _, kind := range []string{"sqlite", "mysql"} {
		b.Run(kind, func(b *testing.B) { benchPut(b, kind) })
	}
}

func benchPut(b *testing.B, kind string) {
	const workers, calls, ids = 16, 4000, 1000
	store := benchStore(b, kind)
	srv := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key}))
	defer srv.Close()
	tr := &http.Transport{MaxConnsPerHost: workers, MaxIdleConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx := context.Background()
	karma := func(i int) int64 { return int64(i*37%300 - 50) }

	put := func(i int) error {
		body := fmt.Sprintf(`{"karma": %d, "groups": ["webmasters", "customers"]}`, karma(i))
		req, err := http.NewRequest("PUT", fmt.Sprintf("%s/api/v1/members/m%d", srv.URL, i%ids), strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if _, err := io.Copy(io.Discard, res.Body); err != nil {
			return err
		}
		if res.StatusCode >= 300 {
			return fmt.Errorf("PUT: status %d", res.StatusCode)
		}
		return nil
	}
	direct := func(i int) error {
		in := models.MemberInput{ID: fmt.Sprintf("d%d", i%ids), Karma: karma(i), Groups: []string{"webmasters", "customers"}}
		if err := in.Normalize(store.Rules()); err != nil {
			return err
		}
		_, err := store.PutMember(ctx, in, "bench")
		return err
	}
	group := models.NewGroupCommit(store, models.GroupOptions{})
	grouped := func(i int) error {
		in := models.MemberInput{ID: fmt.Sprintf("g%d", i%ids), Karma: karma(i), Groups: []string{"webmasters", "customers"}}
		if err := in.Normalize(store.Rules()); err != nil {
			return err
		}
		_, err := group.PutMember(ctx, in, "bench")
		return err
	}
	g := store.DB().Gorm()
	upsert := `INSERT INTO members (external_id, karma, group_list, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (external_id) DO UPDATE SET karma = excluded.karma, group_list = excluded.group_list, updated_at = excluded.updated_at`
	if store.DB().Dialect() == models.MySQL {
		upsert = `INSERT INTO members (external_id, karma, group_list, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
		ON DUPLICATE KEY UPDATE karma = ?, group_list = ?, updated_at = ?`
	}
	raw := func(i int) error {
		now := time.Now().UTC()
		args := []any{fmt.Sprintf("r%d", i%ids), karma(i), "customers,webmasters", now, now}
		if store.DB().Dialect() == models.MySQL {
			args = append(args, karma(i), "customers,webmasters", now)
		}
		return g.Exec(upsert, args...).Error
	}
	// The three run in interleaved rounds, so that load from elsewhere on
	// the machine falls on all of them alike.
	const rounds = 4
	var n, off int
	var httpTime, groupTime, directTime, rawTime time.Duration
	for b.Loop() {
		for range rounds {
			at := off
			httpTime += runConcurrent(b, workers, calls/rounds, func(i int) error { return put(at + i) })
			groupTime += runConcurrent(b, workers, calls/rounds, func(i int) error { return grouped(at + i) })
			directTime += runConcurrent(b, workers, calls/rounds, func(i int) error { return direct(at + i) })
			rawTime += runConcurrent(b, workers, calls/rounds, func(i int) error { return raw(at + i) })
			off += calls / rounds
		}
		n += calls / rounds * rounds
	}
	httpRate, directRate, rawRate := float64(n)/httpTime.Seconds(), float64(n)/directTime.Seconds(), float64(n)/rawTime.Seconds()
	groupRate := float64(n) / groupTime.Seconds()
	b.ReportMetric(httpRate, "http-puts/s")
	b.ReportMetric(groupRate, "group-puts/s")
	b.ReportMetric(directRate, "store-puts/s")
	b.ReportMetric(rawRate, "raw-upserts/s")
	b.ReportMetric(httpRate/directRate, "ratio-vs-store")
	b.ReportMetric(httpRate/rawRate, "ratio-vs-raw")
	if os.Getenv("KARMAGATE_BENCH_VERBOSE") != "" {
		fmt.Printf("%s: PUT via HTTP (group commit) %.0f/s, group commit from Go %.0f/s, single-member store call %.0f/s, raw upsert %.0f/s (load %s)\n",
			kind, httpRate, groupRate, directRate, rawRate, loadAvg())
	}
}

// BenchmarkBulk100k ingests 100,000 new members in one bulk call (JSON)
// through HTTP, on SQLite and on MariaDB, each time into a fresh database.
func BenchmarkBulk100k(b *testing.B) {
	const n = 100_000
	var body bytes.Buffer
	body.WriteByte('[')
	for i := range n {
		if i > 0 {
			body.WriteByte(',')
		}
		g := []string{"webmasters", "customers", "staff"}[i%3]
		fmt.Fprintf(&body, `{"id":"u%d","karma":%d,"groups":["%s"],"name":"Member %d"}`, i, i%400-100, g, i)
	}
	body.WriteByte(']')
	for _, kind := range []string{"sqlite", "mysql"} {
		b.Run(kind, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				store := benchStore(b, kind)
				srv := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key}))
				b.StartTimer()
				req, err := http.NewRequest("POST", srv.URL+"/api/v1/members/bulk", bytes.NewReader(body.Bytes()))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				raw, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if res.StatusCode != 200 {
					b.Fatalf("bulk: %d %s", res.StatusCode, raw)
				}
				srv.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "members/s")
		})
	}
}

// loadAvg is the machine's load average over the last minute, printed
// with a benchmark's figures (other work on the machine slows a run).
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}
