package api_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models/modelstest"
)

// ndjson is an NDJSON body of members s0…s(n-1) with line i replaced by
// what at[i] holds.
func ndjson(n int, at map[int]string) string {
	var b strings.Builder
	for i := range n {
		if line, ok := at[i]; ok {
			b.WriteString(line + "\n")
			continue
		}
		fmt.Fprintf(&b, `{"id":"s%d","karma":%d,"groups":["webmasters"]}`+"\n", i, i%200)
	}
	return b.String()
}

// TestAPI_BulkStreamed: an NDJSON import larger than a segment is checked
// a segment at a time as it arrives, and written in one transaction only
// when all of it was valid: an invalid member or a repeated id in its last
// segment, or a body cut short, writes nothing of the segments before; a
// valid one writes every member.
func TestAPI_BulkStreamed(t *testing.T) {
	const n = 12_000 // three segments
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		bad := []struct {
			name   string
			body   string
			status int
			detail string
		}{
			{"invalid member last", ndjson(n, map[int]string{11_000: `{"id":"late","karma":"x"}`}), http.StatusUnprocessableEntity, "1 of 12000 members are invalid"},
			{"repeated id across segments", ndjson(n, map[int]string{10_500: `{"id":"s5","karma":1}`}), http.StatusUnprocessableEntity, "1 of 12000"},
			{"malformed last line", ndjson(n, map[int]string{n - 1: `{"id":`}), http.StatusBadRequest, "line 12000"},
		}
		for _, tt := range bad {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do("POST", "/api/v1/members/bulk", "application/x-ndjson", tt.body)
				if r.Status != tt.status || !strings.Contains(fmt.Sprint(r.Body["detail"]), tt.detail) {
					t.Fatalf("= %d %s", r.Status, truncated(r.Raw))
				}
				for _, id := range []string{"s0", "s4999", "s9999"} {
					if g := e.json("GET", "/api/v1/members/"+id, ""); g.Status != http.StatusNotFound {
						t.Errorf("a rejected import wrote %s: %d", id, g.Status)
					}
				}
			})
		}
		r := e.do("POST", "/api/v1/members/bulk", "application/x-ndjson", ndjson(n, nil))
		if r.Status != http.StatusOK || r.Body["received"] != float64(n) || r.Body["created"] != float64(n) {
			t.Fatalf("valid import = %d %s", r.Status, truncated(r.Raw))
		}
		if errs, _ := r.Body["errors"].([]any); len(errs) != 0 {
			t.Errorf("valid import listed errors: %v", errs)
		}
		for _, i := range []int{0, 4999, 5000, n - 1} {
			g := e.json("GET", fmt.Sprintf("/api/v1/members/s%d", i), "")
			if g.Status != http.StatusOK || g.Body["karma"] != float64(i%200) {
				t.Errorf("s%d = %d %s", i, g.Status, truncated(g.Raw))
			}
		}
		events := e.json("GET", "/api/v1/events?kind=members.bulk", "")
		if !strings.Contains(events.Raw, fmt.Sprintf("bulk upsert of %d members: %d created", n, n)) {
			t.Errorf("no import event for the whole import: %s", truncated(events.Raw))
		}
	})
}

// TestAPI_BulkStreamedCutOff: a client that hangs up in the middle of an
// NDJSON import, after a first segment was checked, leaves nothing behind
// and holds nothing up.
func TestAPI_BulkStreamedCutOff(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec)
		pr, pw := io.Pipe()
		req, err := http.NewRequest("POST", e.srv.URL+"/api/v1/members/bulk", pr)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Authorization", "Bearer "+key)
		done := make(chan error, 1)
		go func() {
			res, err := e.client.Do(req)
			if err == nil {
				res.Body.Close()
			}
			done <- err
		}()
		if _, err := io.WriteString(pw, ndjson(7000, nil)); err != nil {
			t.Fatal(err)
		}
		// The first segment is checked and spooled once the reader has
		// passed it; then the client goes away.
		time.Sleep(300 * time.Millisecond)
		pw.CloseWithError(errors.New("client gone"))
		<-done
		deadline := time.Now().Add(10 * time.Second)
		for {
			// The import ends once the server has seen the body break
			// off.
			g := e.json("GET", "/api/v1/members/s0", "")
			if g.Status == http.StatusNotFound {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a cut-off import left s0: %d %s", g.Status, truncated(g.Raw))
			}
			time.Sleep(50 * time.Millisecond)
		}
		if r := e.json("PUT", "/api/v1/members/s1", `{"karma": 1, "groups": ["webmasters"]}`); r.Status != http.StatusCreated {
			t.Errorf("a write after the cut-off import = %d %s", r.Status, truncated(r.Raw))
		}
		events := e.json("GET", "/api/v1/events?kind=members.bulk", "")
		if strings.Contains(events.Raw, "bulk upsert") {
			t.Errorf("the cut-off import recorded an event: %s", truncated(events.Raw))
		}
	})
}

func truncated(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}
