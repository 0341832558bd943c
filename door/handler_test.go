package door_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/door"
)

// fakeDoors answers visits from a table and records them.
type fakeDoors struct {
	mu     sync.Mutex
	visits []door.Visitor
	visit  door.Visit
	err    error
}

func (f *fakeDoors) Visit(_ context.Context, v door.Visitor) (door.Visit, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.visits = append(f.visits, v)
	return f.visit, f.err
}

func post(t *testing.T, srv *httptest.Server, form url.Values) (int, string) {
	t.Helper()
	res, err := http.PostForm(srv.URL+door.Prefix+"/session", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestHandler_Session: the session endpoint renders the standing for
// signed initData and refuses the rest with a clear page, never calling
// the Doors for them.
func TestHandler_Session(t *testing.T) {
	fd := &fakeDoors{}
	h, err := door.New(door.Options{BotToken: token, Doors: fd, ProfileURL: "https://site.example/me", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	good := sign(token, fields(now))
	open := door.Visit{ChatKey: "club", ChatTitle: "Club <b>Pro</b>", Linked: true, Member: "Ann", Karma: 40, Bar: 100, Groups: []string{"webmasters"},
		MemberGroups: []string{"webmasters"}, KarmaShort: 60, DecideAt: now.Add(10 * time.Minute)}
	tests := []struct {
		name    string
		form    url.Values
		visit   door.Visit
		err     error
		code    int
		want    []string
		visited bool
	}{
		{"open, short of karma", url.Values{"init_data": {good}, "chat": {"club"}}, open, nil, 200,
			[]string{"Club &lt;b&gt;Pro&lt;/b&gt;", "<strong>Ann</strong> on the website", "<strong>40</strong> / 100 needed", "60 more karma.", `href="https://site.example/me"`, "Earn karma on the website", "12:10 UTC", "data-recheck"}, true},
		{"not linked", url.Values{"init_data": {good}, "chat": {"club"}}, door.Visit{ChatTitle: "Club", Bar: 100, AnyGroup: true, KarmaShort: 100}, nil, 200,
			[]string{"<strong>Ann (@ann_tg)</strong>, not linked", "Link your account on the website", "any group on the website"}, true},
		{"approved", url.Values{"init_data": {good}, "chat": {"club"}}, door.Visit{ChatTitle: "Club", Linked: true, Karma: 150, Bar: 100, Decision: door.DecisionApproved}, nil, 200,
			[]string{`data-decision="approved"`, "You're in."}, true},
		{"queued", url.Values{"init_data": {good}, "chat": {"club"}}, door.Visit{ChatTitle: "Club", Linked: true, Decision: door.DecisionQueued, Reason: "review: karma 95 < 100 in webmasters"}, nil, 200,
			[]string{`data-decision="queued"`, "review: karma 95 &lt; 100 in webmasters"}, true},
		{"replayed", url.Values{"init_data": {good}, "chat": {"club"}}, door.Visit{}, door.ErrBeforeRequest, 403, []string{`data-problem="replayed"`}, true},
		{"unknown chat", url.Values{"init_data": {good}, "chat": {"nope"}}, door.Visit{}, door.ErrUnknownChat, 404, []string{`data-problem="unknown_chat"`}, true},
		{"store down", url.Values{"init_data": {good}, "chat": {"club"}}, door.Visit{}, errors.New("database is locked at /var/db"), 500, []string{`data-problem="internal"`}, true},
		{"forged", url.Values{"init_data": {strings.Replace(good, "Ann", "Eve", 1)}, "chat": {"club"}}, door.Visit{}, nil, 403, []string{`data-problem="forged"`}, false},
		{"stale", url.Values{"init_data": {sign(token, fields(now.Add(-2*time.Hour)))}, "chat": {"club"}}, door.Visit{}, nil, 403, []string{`data-problem="stale"`}, false},
		{"no initData", url.Values{"chat": {"club"}}, door.Visit{}, nil, 400, []string{`data-problem="malformed"`}, false},
		{"bad chat key", url.Values{"init_data": {good}, "chat": {"../x"}}, door.Visit{}, nil, 400, []string{`data-problem="malformed"`}, false},
		{"oversized", url.Values{"init_data": {strings.Repeat("a", 9000)}, "chat": {"club"}}, door.Visit{}, nil, 400, []string{`data-problem="malformed"`}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fd.mu.Lock()
			fd.visit, fd.err, fd.visits = tt.visit, tt.err, nil
			fd.mu.Unlock()
			code, body := post(t, srv, tt.form)
			if code != tt.code {
				t.Errorf("status %d, want %d:\n%s", code, tt.code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q:\n%s", w, body)
				}
			}
			if strings.Contains(body, "/var/db") {
				t.Error("an internal error's details reached the page")
			}
			fd.mu.Lock()
			defer fd.mu.Unlock()
			if (len(fd.visits) == 1) != tt.visited {
				t.Errorf("visits %+v, want visited=%v", fd.visits, tt.visited)
			}
			if tt.visited && (fd.visits[0].User.ID != 4242 || fd.visits[0].ChatKey != tt.form.Get("chat") || !fd.visits[0].AuthDate.Equal(now)) {
				t.Errorf("visitor %+v", fd.visits[0])
			}
		})
	}
}

// TestHandler_Page: the page loads Telegram's Web App script and ours,
// under a strict content security policy.
func TestHandler_Page(t *testing.T) {
	h, err := door.New(door.Options{BotToken: token, Doors: &fakeDoors{}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	for _, tt := range []struct {
		path string
		code int
		want string
	}{
		{door.Prefix + "?chat=club", 200, `<script src="https://telegram.org/js/telegram-web-app.js"></script>`},
		{door.Prefix + "?chat=club", 200, `data-chat="club"`},
		{door.Prefix, 400, "chat key is required"},
		{door.Prefix + "?chat=%3Cscript%3E", 400, "chat key is required"},
		{door.Prefix + "/app.js", 200, "Telegram.WebApp"},
	} {
		res, err := http.Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.code || !strings.Contains(string(b), tt.want) {
			t.Errorf("GET %s: %d, want %d with %q:\n%s", tt.path, res.StatusCode, tt.code, tt.want, b)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self' https://telegram.org") {
			t.Errorf("GET %s: CSP %q", tt.path, csp)
		}
	}
	if res, err := http.Post(srv.URL+door.Prefix, "text/plain", nil); err != nil || res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST the page: %v %v", res.StatusCode, err)
	}
}
