package api_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
)

// memberStream generates a bulk body of n members lazily, so that the
// client side of a benchmark holds none of it.
type memberStream struct {
	prefix string
	n, i   int
	name   string
	buf    bytes.Buffer
}

func newMemberStream(prefix string, n, nameLen int) *memberStream {
	return &memberStream{prefix: prefix, n: n, name: strings.Repeat("n", nameLen)}
}

func (s *memberStream) Read(p []byte) (int, error) {
	for s.buf.Len() < len(p) && s.i <= s.n {
		if s.i == 0 {
			s.buf.WriteByte('[')
		} else if s.i < s.n {
			s.buf.WriteByte(',')
		}
		if s.i == s.n {
			s.buf.WriteByte(']')
			s.i++
			break
		}
		fmt.Fprintf(&s.buf, `{"id":"%s%d","karma":%d,"groups":["webmasters"],"name":"%s"}`, s.prefix, s.i, s.i%400-100, s.name)
		s.i++
	}
	if s.buf.Len() == 0 {
		return 0, io.EOF
	}
	return s.buf.Read(p)
}

// procStatus reads a figure in kB from /proc/self/status, in MB.
func procStatus(b *testing.B, field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && k == field {
			n, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return n / 1024
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// BenchmarkBulkMemory sends four 57 MB bulk imports (200,000 members each)
// at once through HTTP on SQLite and reports the process's resident memory
// before and at its peak (VmHWM, reset first). The bodies are generated as
// they are sent, so the figure is the server's. "four-turns" lets all four
// run at once, as before imports were bounded; "default" has MaxBulk's
// default. It takes minutes, so it runs only with KARMAGATE_BENCH_MEMORY set.
func BenchmarkBulkMemory(b *testing.B) {
	if os.Getenv("KARMAGATE_BENCH_MEMORY") == "" {
		b.Skip("set KARMAGATE_BENCH_MEMORY=1 to run (four 57 MB imports take minutes)")
	}
	b.Run("four-turns", func(b *testing.B) { benchBulkMemory(b, 4) })
	b.Run("default", func(b *testing.B) { benchBulkMemory(b, 0) })
}

func benchBulkMemory(b *testing.B, turns int) {
	const clients, members, nameLen = 4, 200_000, 225
	size, err := io.Copy(io.Discard, newMemberStream("c0-", members, nameLen))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		store := benchStore(b, "sqlite")
		srv := httptest.NewServer(api.New(api.Options{Store: store, APIKey: key, MaxBulk: turns, WriteWait: 30 * time.Minute}))
		runtime.GC()
		debug.FreeOSMemory()
		before := procStatus(b, "VmRSS")
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		codes := make([]int, clients)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest("POST", srv.URL+"/api/v1/members/bulk", newMemberStream(fmt.Sprintf("c%d-", c), members, nameLen))
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				raw, err := io.ReadAll(res.Body)
				res.Body.Close()
				codes[c] = res.StatusCode
				if err != nil || res.StatusCode != 200 {
					b.Errorf("client %d: %d %s %v", c, res.StatusCode, raw, err)
				}
			}()
		}
		wg.Wait()
		peak := procStatus(b, "VmHWM")
		srv.Close()
		b.ReportMetric(before, "rss-before-MB")
		b.ReportMetric(peak, "rss-peak-MB")
		b.ReportMetric(float64(size)/1e6, "body-MB")
	}
}
