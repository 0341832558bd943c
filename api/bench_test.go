package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
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
// calls per second.
func runConcurrent(b *testing.B, workers, total int, op func(i int) error) float64 {
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
	return float64(total) / time.Since(start).Seconds()
}

// BenchmarkPutThroughput measures single-member PUT upserts per second
// through HTTP on MariaDB against the same upsert (the store call the
// handler makes: one transaction with the gate's planning and outbox)
// issued straight from Go, and against a bare one-statement
// INSERT … ON DUPLICATE KEY UPDATE, in the same run. Members cycle through
// 1,000 ids with changing karma, so most calls update and re-plan.
func BenchmarkPutThroughput(b *testing.B) {
	const workers, calls, ids = 16, 4000, 1000
	store := benchStore(b, "mysql")
	srv := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key}))
	defer srv.Close()
	tr := &http.Transport{MaxConnsPerHost: workers, MaxIdleConnsPerHost: workers}
	client := &http.Client{Transport: tr}
	ctx := context.Background()
	karma := func(i int) int64 { return int64(i*37%300 - 50) }

	put := func(i int) error {
		body := fmt.Sprintf(`{"karma": %d, "groups": ["webmasters", "customers"]}`, karma(i))
		req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/v1/members/m%d", srv.URL, i%ids), bytes.NewReader([]byte(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
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
	g := store.DB().Gorm()
	raw := func(i int) error {
		now := time.Now().UTC()
		return g.Exec(`INSERT INTO members (external_id, karma, group_list, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
			ON DUPLICATE KEY UPDATE karma = VALUES(karma), group_list = VALUES(group_list), updated_at = VALUES(updated_at)`,
			fmt.Sprintf("r%d", i%ids), karma(i), "customers,webmasters", now, now).Error
	}
	// The three run in interleaved rounds, so that load from elsewhere on
	// the machine falls on all of them alike; rates are harmonic means.
	var httpTime, directTime, rawTime float64
	const rounds = 4
	for b.Loop() {
		httpTime, directTime, rawTime = 0, 0, 0
		for r := range rounds {
			off := r * calls / rounds
			httpTime += float64(calls/rounds) / runConcurrent(b, workers, calls/rounds, func(i int) error { return put(off + i) })
			directTime += float64(calls/rounds) / runConcurrent(b, workers, calls/rounds, func(i int) error { return direct(off + i) })
			rawTime += float64(calls/rounds) / runConcurrent(b, workers, calls/rounds, func(i int) error { return raw(off + i) })
		}
	}
	httpRate, directRate, rawRate := calls/httpTime, calls/directTime, calls/rawTime
	b.ReportMetric(httpRate, "http-puts/s")
	b.ReportMetric(directRate, "store-puts/s")
	b.ReportMetric(rawRate, "raw-upserts/s")
	b.ReportMetric(httpRate/directRate, "ratio-vs-store")
	b.ReportMetric(httpRate/rawRate, "ratio-vs-raw")
	tr.CloseIdleConnections()
	if os.Getenv("KARMAGATE_BENCH_VERBOSE") != "" {
		fmt.Printf("PUT via HTTP %.0f/s, store %.0f/s, raw upsert %.0f/s\n", httpRate, directRate, rawRate)
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
				req, _ := http.NewRequest("POST", srv.URL+"/api/v1/members/bulk", bytes.NewReader(body.Bytes()))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				raw, _ := io.ReadAll(res.Body)
				res.Body.Close()
				b.StopTimer()
				if res.StatusCode != 200 {
					b.Fatalf("bulk: %d %s", res.StatusCode, raw)
				}
				srv.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n), "members/op")
		})
	}
}
