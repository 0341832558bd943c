package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
)

// EnvBenchBulk sets the members BenchmarkBulk1M imports: 1,000,000 for
// the README's figure, 20,000 by default so that CI runs it quickly.
const EnvBenchBulk = "KARMAGATE_BENCH_BULK"

// ndjsonStream generates an NDJSON bulk body of n members lazily, so that
// the client side of a benchmark holds none of it.
type ndjsonStream struct {
	n, i int
	buf  bytes.Buffer
}

func (s *ndjsonStream) Read(p []byte) (int, error) {
	for s.buf.Len() < len(p) && s.i < s.n {
		g := []string{"webmasters", "customers", "staff"}[s.i%3]
		fmt.Fprintf(&s.buf, `{"id":"u%d","karma":%d,"groups":["%s"],"name":"Member %d"}`+"\n", s.i, s.i%400-100, g, s.i)
		s.i++
	}
	if s.buf.Len() == 0 {
		return 0, io.EOF
	}
	return s.buf.Read(p)
}

// BenchmarkBulk1M imports N members (KARMAGATE_BENCH_BULK, 1,000,000 at
// full size) in one streamed NDJSON call through HTTP into a fresh
// database, on SQLite and on MariaDB: the seconds it takes and the
// process's peak resident memory during it (VmHWM, reset before; the body
// is generated as it is sent, so the figure is the server's).
func BenchmarkBulk1M(b *testing.B) {
	n := 20_000
	if v := os.Getenv(EnvBenchBulk); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 || n > api.MaxStreamMembers {
			b.Fatalf("%s=%q: want a number of members up to %d", EnvBenchBulk, v, api.MaxStreamMembers)
		}
	}
	for _, kind := range []string{"sqlite", "mysql"} {
		b.Run(kind, func(b *testing.B) {
			var took time.Duration
			var peak float64
			for b.Loop() {
				b.StopTimer()
				store := benchStore(b, kind)
				srv := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key}))
				runtime.GC()
				debug.FreeOSMemory()
				if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
					b.Fatal(err)
				}
				req, err := http.NewRequest("POST", srv.URL+"/api/v1/members/bulk", &ndjsonStream{n: n})
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-ndjson")
				req.Header.Set("Authorization", "Bearer "+key)
				b.StartTimer()
				start := time.Now()
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				raw, err := io.ReadAll(res.Body)
				res.Body.Close()
				took += time.Since(start)
				b.StopTimer()
				if err != nil || res.StatusCode != http.StatusOK {
					b.Fatalf("bulk: %d %s %v", res.StatusCode, raw, err)
				}
				peak = max(peak, procStatus(b, "VmHWM"))
				srv.Close()
				b.StartTimer()
			}
			secs := took.Seconds() / float64(b.N)
			fmt.Printf("bulk %s: %d members in one NDJSON call: %.1f s (%.0f members/s), peak RSS %.0f MB (load %s)\n",
				kind, n, secs, float64(n)/secs, peak, loadAvg())
			b.ReportMetric(secs, "s/import")
			b.ReportMetric(peak, "rss-peak-MB")
			b.ReportMetric(float64(n)/secs, "members/s")
		})
	}
}
