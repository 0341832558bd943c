package callback_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/callback"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func TestSign_Verify(t *testing.T) {
	now := time.Unix(1764064800, 0)
	body := []byte(`{"id":"e1","type":"member.joined"}`)
	good := callback.Sign(secret, now.Unix(), body)
	ts := strconv.FormatInt(now.Unix(), 10)
	tests := []struct {
		name      string
		secret    []byte
		timestamp string
		signature string
		body      []byte
		now       time.Time
		want      error
	}{
		{"good", secret, ts, good, body, now, nil},
		{"good, four minutes later", secret, ts, good, body, now.Add(4 * time.Minute), nil},
		{"body changed", secret, ts, good, []byte(`{"id":"e1","type":"member.left"}`), now, callback.ErrBadSignature},
		{"another secret", []byte(strings.Repeat("x", 32)), ts, good, body, now, callback.ErrBadSignature},
		{"timestamp changed", secret, strconv.FormatInt(now.Unix()+1, 10), good, body, now, callback.ErrBadSignature},
		{"timestamp not a number", secret, "soon", good, body, now, callback.ErrBadSignature},
		{"signature without its prefix", secret, ts, strings.TrimPrefix(good, "sha256="), body, now, callback.ErrBadSignature},
		{"replayed later", secret, ts, good, body, now.Add(6 * time.Minute), callback.ErrStale},
		{"from the future", secret, ts, good, body, now.Add(-6 * time.Minute), callback.ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := callback.Verify(tt.secret, tt.timestamp, tt.signature, tt.body, tt.now, 5*time.Minute)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("known vector", func(t *testing.T) {
		// The README's PHP snippet computes the same:
		// hash_hmac('sha256', '1764064800.{}', '0123456789abcdef0123456789abcdef')
		got := callback.Sign(secret, 1764064800, []byte("{}"))
		const want = "sha256=" + knownVector
		if got != want {
			t.Errorf("Sign = %s, want %s", got, want)
		}
	})
}

// knownVector is hex(HMAC-SHA256("0123456789abcdef0123456789abcdef", "1764064800.{}")).
const knownVector = "29dc7cd0820075e7c93215f1917d1ee2e4936d71af386f84ef25ef94dbad8acc"

// delivery is one request the test website received.
type delivery struct {
	event, timestamp, signature string
	body                        []byte
	verified                    error
}

// website is an httptest server that records deliveries and answers with
// the statuses it is given, then 200.
type website struct {
	*httptest.Server
	mu       sync.Mutex
	got      []delivery
	statuses []int
	header   http.Header // sent with the next non-2xx answer
	now      func() time.Time
}

func newWebsite(t *testing.T, now func() time.Time, statuses ...int) *website {
	t.Helper()
	w := &website{statuses: statuses, now: now, header: http.Header{}}
	w.Server = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.Close)
	return w
}

func (w *website) serve(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(rw, "bad request", http.StatusBadRequest)
		return
	}
	d := delivery{event: r.Header.Get(callback.HeaderEvent), timestamp: r.Header.Get(callback.HeaderTimestamp),
		signature: r.Header.Get(callback.HeaderSignature), body: body}
	d.verified = callback.Verify(secret, d.timestamp, d.signature, body, w.now(), 5*time.Minute)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, d)
	status := http.StatusOK
	if len(w.statuses) > 0 {
		status, w.statuses = w.statuses[0], w.statuses[1:]
	}
	if status >= 300 {
		for k, v := range w.header {
			rw.Header()[k] = v
		}
	}
	rw.WriteHeader(status)
	_, _ = rw.Write([]byte("website says hi"))
}

func (w *website) deliveries() []delivery {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]delivery(nil), w.got...)
}

func action(t *testing.T, id int64, created time.Time, cb models.Callback) *models.Action {
	t.Helper()
	data, err := json.Marshal(cb)
	if err != nil {
		t.Fatal(err)
	}
	payload := string(data)
	return &models.Action{ID: id, Kind: models.ActionCallback, MemberExt: cb.Member, Payload: &payload, CreatedAt: created}
}

func TestSender_Execute(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	cb := models.Callback{ID: "0123456789abcdef0123456789abcdef", Type: models.CallbackJoined, At: now, Member: "alice", Chat: "webmasters-pro"}
	newSender := func(t *testing.T, url string) *callback.Sender {
		t.Helper()
		s, err := callback.New(callback.Options{URL: url, Secret: secret, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Run("delivered, signed, with seq", func(t *testing.T) {
		w := newWebsite(t, clock)
		if err := newSender(t, w.URL).Execute(context.Background(), action(t, 42, now, cb)); err != nil {
			t.Fatalf("Execute = %v", err)
		}
		got := w.deliveries()
		if len(got) != 1 {
			t.Fatalf("%d deliveries, want 1", len(got))
		}
		d := got[0]
		if d.verified != nil || d.event != cb.ID || d.timestamp != strconv.FormatInt(now.Unix(), 10) {
			t.Fatalf("delivery = %+v", d)
		}
		var back models.Callback
		if err := json.Unmarshal(d.body, &back); err != nil {
			t.Fatal(err)
		}
		if back.Seq != 42 || back.ID != cb.ID || back.Type != cb.Type || back.Member != "alice" || back.Chat != "webmasters-pro" {
			t.Errorf("body = %s", d.body)
		}
	})
	t.Run("a 500 asks for another try, and the retry carries the same event", func(t *testing.T) {
		w := newWebsite(t, clock, http.StatusInternalServerError)
		s := newSender(t, w.URL)
		a := action(t, 7, now.Add(-time.Minute), cb)
		err := s.Execute(context.Background(), a)
		var retry *worker.RetryError
		if !errors.As(err, &retry) || !strings.Contains(err.Error(), "500") {
			t.Fatalf("Execute = %v, want a retry naming the 500", err)
		}
		// About the event's age (a minute), with jitter: 30 s to 1 min.
		if wait := retry.At.Sub(now); wait < 30*time.Second || wait > time.Minute {
			t.Errorf("retry in %s, want 30s-1m", wait)
		}
		if err := s.Execute(context.Background(), a); err != nil {
			t.Fatalf("second Execute = %v", err)
		}
		got := w.deliveries()
		if len(got) != 2 || got[0].event != got[1].event || string(got[0].body) != string(got[1].body) {
			t.Fatalf("deliveries = %+v, want the same event twice", got)
		}
	})
	t.Run("Retry-After on a 429 is honoured", func(t *testing.T) {
		w := newWebsite(t, clock, http.StatusTooManyRequests)
		w.header.Set("Retry-After", "120")
		err := newSender(t, w.URL).Execute(context.Background(), action(t, 8, now, cb))
		var retry *worker.RetryError
		if !errors.As(err, &retry) || !retry.At.Equal(now.Add(120*time.Second)) {
			t.Fatalf("Execute = %v, want a retry at %s", err, now.Add(120*time.Second))
		}
	})
	t.Run("a redirect is not followed", func(t *testing.T) {
		w := newWebsite(t, clock, http.StatusFound)
		w.header.Set("Location", "/elsewhere")
		err := newSender(t, w.URL).Execute(context.Background(), action(t, 9, now, cb))
		var retry *worker.RetryError
		if !errors.As(err, &retry) || !strings.Contains(err.Error(), "/elsewhere") {
			t.Fatalf("Execute = %v, want a retry naming where it redirects", err)
		}
		if n := len(w.deliveries()); n != 1 {
			t.Errorf("%d deliveries, want 1", n)
		}
	})
	t.Run("gives up once the event is older than the window", func(t *testing.T) {
		w := newWebsite(t, clock, http.StatusBadGateway)
		err := newSender(t, w.URL).Execute(context.Background(), action(t, 10, now.Add(-73*time.Hour), cb))
		if !worker.IsPermanent(err) || !strings.Contains(err.Error(), "502") {
			t.Fatalf("Execute = %v, want a permanent error naming the 502", err)
		}
	})
	t.Run("a website that does not answer", func(t *testing.T) {
		w := newWebsite(t, clock)
		w.Close()
		err := newSender(t, w.URL).Execute(context.Background(), action(t, 11, now, cb))
		var retry *worker.RetryError
		if !errors.As(err, &retry) {
			t.Fatalf("Execute = %v, want a retry", err)
		}
	})
	t.Run("a payload that is not a callback fails for good", func(t *testing.T) {
		w := newWebsite(t, clock)
		bad := "not json"
		err := newSender(t, w.URL).Execute(context.Background(), &models.Action{ID: 12, Kind: models.ActionCallback, Payload: &bad, CreatedAt: now})
		if !worker.IsPermanent(err) {
			t.Fatalf("Execute = %v, want a permanent error", err)
		}
		if n := len(w.deliveries()); n != 0 {
			t.Errorf("%d deliveries, want none", n)
		}
	})
}

func TestNew(t *testing.T) {
	tests := []struct {
		name   string
		url    string
		secret []byte
		want   string
	}{
		{"not a URL", "example.org/cb", secret, "not an http(s) URL"},
		{"short secret", "https://example.org/cb", []byte("short"), "at least 32"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := callback.New(callback.Options{URL: tt.url, Secret: tt.secret})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
