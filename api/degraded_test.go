package api_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/karmagate/karmagate/api"
)

// offlineLinker is the bot before Telegram answered: its deep links
// cannot be made yet.
type offlineLinker struct{}

type notConnected struct{}

func (notConnected) Error() string            { return "Telegram's Bot API has not been reached yet" }
func (notConnected) ServiceUnavailable() bool { return true }

func (offlineLinker) LinkURL(context.Context, string) (string, time.Time, error) {
	return "", time.Time{}, notConnected{}
}

func (offlineLinker) ReplaceLinkURL(context.Context, string) (string, time.Time, error) {
	return "", time.Time{}, errors.Join(errors.New("issue"), notConnected{})
}

// TestServer_Degraded: while a part the REST API does not need is down
// (Telegram), /healthz answers 200 "degraded" with the reason, members are
// still written, and what needs Telegram is 503 with Retry-After.
func TestServer_Degraded(t *testing.T) {
	var why atomic.Pointer[string]
	down := "Telegram's Bot API unreachable; retrying"
	why.Store(&down)
	e := newEnvWith(t, "sqlite:"+t.TempDir()+"/k.db", api.Options{Linker: offlineLinker{}, Degraded: func() string { return *why.Load() }})

	h := e.do("GET", "/healthz", "", "", "Authorization", "")
	if h.Status != 200 || h.Body["status"] != "degraded" || h.Body["degraded"] != down {
		t.Fatalf("healthz while degraded = %d %s", h.Status, h.Raw)
	}
	mustStatus(t, e.json("PUT", "/api/v1/members/ann", `{"karma": 5}`), 201, "", "")
	for _, body := range []string{"", `{"replace": true}`} {
		r := e.json("POST", "/api/v1/members/ann/link", body)
		mustStatus(t, r, 503, "", "not been reached yet")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("503 for a deep link without Retry-After")
		}
	}
	up := ""
	why.Store(&up)
	if h := e.do("GET", "/healthz", "", "", "Authorization", ""); h.Status != 200 || h.Body["status"] != "ok" || h.Body["degraded"] != nil {
		t.Fatalf("healthz once up = %d %s", h.Status, h.Raw)
	}
}
