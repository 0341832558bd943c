package dashboard_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/karmagate/karmagate/dashboard"
)

// twoAdmins are alice (password pw-alice) and bob (pw-bob).
func twoAdmins(t *testing.T) []dashboard.User {
	t.Helper()
	users, err := dashboard.ParseUsers("alice:" + string(mustHash(t, "pw-alice")) + ",bob:" + string(mustHash(t, "pw-bob")))
	if err != nil {
		t.Fatal(err)
	}
	return users
}

// TestServer_SignInLimitPerName is attack 5: failed sign-ins for one name
// never lock out another, and the wait named is the real one.
func TestServer_SignInLimitPerName(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Users: twoAdmins(t)})
	for i := range 10 {
		if p := e.do("POST", "/admin/login", "", url.Values{"name": {"alice"}, "secret": {"wrong"}}); p.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d for alice: status %d; want 401", i+1, p.Status)
		}
	}
	p := e.do("POST", "/admin/login", "", url.Values{"name": {"alice"}, "secret": {"wrong"}})
	if p.Status != http.StatusTooManyRequests {
		t.Fatalf("the 11th failure for alice: %d; want 429", p.Status)
	}
	if got := p.Header.Get("Retry-After"); got != "6" {
		t.Errorf("Retry-After %q; want 6 (one more try every six seconds)", got)
	}
	if !strings.Contains(p.Body, "6 seconds") || strings.Contains(p.Body, "a minute") {
		t.Errorf("the page does not say to wait 6 seconds: %s", textAfter(t, p.Body, "data-error"))
	}
	if p := e.do("POST", "/admin/login", "", url.Values{"name": {"bob"}, "secret": {"pw-bob"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("bob's right password after alice's name was guessed: %d; want 303", p.Status)
	}
	if p := e.do("POST", "/admin/login", "", url.Values{"name": {"alice"}, "secret": {"pw-alice"}}); p.Status != http.StatusTooManyRequests {
		t.Errorf("alice's right password while her name is locked: %d; want 429", p.Status)
	}
	e.clock.Advance(6 * time.Second)
	if p := e.do("POST", "/admin/login", "", url.Values{"name": {"alice"}, "secret": {"pw-alice"}}); p.Status != http.StatusSeeOther {
		t.Errorf("alice, six seconds later: %d; want 303", p.Status)
	}
}

// TestServer_SignInParallelGuesses is attack 5: a hundred guesses at once
// are counted before any password is checked, so only the allowed ten are.
func TestServer_SignInParallelGuesses(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Users: twoAdmins(t)})
	var checks countHook
	dashboard.SetCompareHook(e.dash, checks.inc)
	const n = 100
	var mu sync.Mutex
	statuses := map[int]int{}
	var retry []string
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.PostForm(e.srv.URL+"/admin/login", url.Values{"name": {"alice"}, "secret": {"guess"}})
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			statuses[res.StatusCode]++
			if res.StatusCode == http.StatusTooManyRequests {
				retry = append(retry, res.Header.Get("Retry-After"))
			}
		}()
	}
	wg.Wait()
	if statuses[http.StatusUnauthorized] != 10 || statuses[http.StatusTooManyRequests] != n-10 {
		t.Fatalf("statuses %v; want 10 checked (401) and %d refused (429)", statuses, n-10)
	}
	if got := checks.get(); got != 10 {
		t.Errorf("bcrypt ran %d times; want 10", got)
	}
	for _, r := range retry {
		if r == "" || r == "0" {
			t.Fatalf("a 429 without a Retry-After: %q", r)
		}
	}
}

// TestServer_DummyHashCost is attack 5: a wrong name costs the same bcrypt
// work as a right one.
func TestServer_DummyHashCost(t *testing.T) {
	tests := []struct {
		name  string
		costs []int
		want  int
	}{
		{"one admin", []int{bcrypt.MinCost + 2}, bcrypt.MinCost + 2},
		{"the dearest of several", []int{bcrypt.MinCost + 1, bcrypt.MinCost + 3}, bcrypt.MinCost + 3},
		{"no admins: bcrypt's default", nil, bcrypt.DefaultCost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var users []dashboard.User
			for i, c := range tt.costs {
				h, err := bcrypt.GenerateFromPassword([]byte("pw"), c)
				if err != nil {
					t.Fatal(err)
				}
				users = append(users, dashboard.User{Name: string(rune('a' + i)), Hash: h})
			}
			e := newEnv(t, sqliteSpec(t), dashboard.Options{Users: users})
			if got := dashboard.DummyCost(e.dash); got != tt.want {
				t.Errorf("the dummy hash's cost is %d; want %d, as the configured hashes", got, tt.want)
			}
		})
	}
	t.Run("an unknown name is checked against it", func(t *testing.T) {
		e := newEnv(t, sqliteSpec(t), dashboard.Options{Users: twoAdmins(t)})
		var checks countHook
		dashboard.SetCompareHook(e.dash, checks.inc)
		for _, name := range []string{"mallory", "alice"} {
			if p := e.do("POST", "/admin/login", "", url.Values{"name": {name}, "secret": {"guess"}}); p.Status != http.StatusUnauthorized {
				t.Fatalf("%s: %d", name, p.Status)
			}
		}
		if got := checks.get(); got != 2 {
			t.Errorf("bcrypt ran %d times for an unknown and a known name; want once each", got)
		}
	})
}

type countHook struct {
	mu sync.Mutex
	n  int
}

func (c *countHook) inc() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func (c *countHook) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestServer_LogoutEndsSession is attack 6: after signing out, the old
// cookie opens nothing.
func TestServer_LogoutEndsSession(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Users: twoAdmins(t)})
	sess := e.signIn("alice", "pw-alice")
	if p := e.do("POST", "/admin/logout", sess, url.Values{"csrf": {e.csrf(sess)}}); p.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.Status)
	}
	if p := e.do("GET", "/admin/", sess, nil); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/admin/login") {
		t.Fatalf("the old cookie after signing out: %d to %q; want a redirect to sign in", p.Status, p.Location)
	}
}

// TestServer_SignOutEverywhere is attack 6: the button ends every session
// of that admin, and no one else's.
func TestServer_SignOutEverywhere(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Users: twoAdmins(t)})
	laptop, phone := e.signIn("alice", "pw-alice"), e.signIn("alice", "pw-alice")
	bob := e.signIn("bob", "pw-bob")
	if p := e.do("GET", "/admin/", laptop, nil); !strings.Contains(p.Body, `action="/admin/logout-everywhere"`) {
		t.Fatal("no sign out everywhere button on the overview")
	}
	p := e.do("POST", "/admin/logout-everywhere", laptop, url.Values{"csrf": {e.csrf(laptop)}})
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/admin/login") {
		t.Fatalf("sign out everywhere: %d to %q", p.Status, p.Location)
	}
	tests := []struct {
		name   string
		cookie string
		status int
	}{
		{"this browser", laptop, http.StatusSeeOther},
		{"alice's other browser", phone, http.StatusSeeOther},
		{"bob", bob, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if p := e.do("GET", "/admin/", tt.cookie, nil); p.Status != tt.status {
				t.Errorf("status %d; want %d", p.Status, tt.status)
			}
		})
	}
}

// TestServer_SessionRows: a session is a row holding a hash of its token,
// never the token; a changed password ends the admin's sessions.
func TestServer_SessionRows(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Users: twoAdmins(t)})
	sess := e.signIn("alice", "pw-alice")
	if n := e.sqlCount("SELECT COUNT(*) FROM dashboard_sessions WHERE user_name = 'alice'"); n != 1 {
		t.Fatalf("%d session rows for alice; want 1", n)
	}
	if n := e.sqlCount("SELECT COUNT(*) FROM dashboard_sessions WHERE token_hash = ? OR token_hash LIKE ?", sess, "%"+sess+"%"); n != 0 {
		t.Error("the session's token is stored as it is")
	}
	t.Run("a changed password hash ends the sessions", func(t *testing.T) {
		users, err := dashboard.ParseUsers("alice:" + string(mustHash(t, "new-pw")) + ",bob:" + string(e.opts.Users[1].Hash))
		if err != nil {
			t.Fatal(err)
		}
		bob := e.signIn("bob", "pw-bob")
		opts := e.opts
		opts.Users = users
		d, err := dashboard.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			cookie string
			status int
		}{{sess, http.StatusSeeOther}, {bob, http.StatusOK}} {
			rec := serve(d, httpRequest(t, "GET", "/admin/", tt.cookie))
			if rec.Code != tt.status {
				t.Errorf("after alice's hash changed: %d; want %d", rec.Code, tt.status)
			}
		}
		if n := e.sqlCount("SELECT COUNT(*) FROM dashboard_sessions WHERE user_name = 'alice'"); n != 0 {
			t.Errorf("%d of alice's sessions are left in the database", n)
		}
	})
}

// TestServer_APIKeySignIn is attack 7: the website's API key signs in to
// the dashboard only when KARMAGATE_DASHBOARD_API_KEY says so.
func TestServer_APIKeySignIn(t *testing.T) {
	tests := []struct {
		name   string
		on     bool
		status int
	}{
		{"off by default", false, http.StatusUnauthorized},
		{"on", true, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, sqliteSpec(t), dashboard.Options{APIKey: apiKey, APIKeySignIn: tt.on, Users: twoAdmins(t)})
			p := e.do("POST", "/admin/login", "", url.Values{"secret": {apiKey}})
			if p.Status != tt.status {
				t.Fatalf("sign in with the API key: %d; want %d", p.Status, tt.status)
			}
			if login := e.do("GET", "/admin/login", "", nil); strings.Contains(login.Body, "API key") != tt.on {
				t.Errorf("the sign-in page mentions the API key: %v; want %v", !tt.on, tt.on)
			}
		})
	}
	t.Run("no way to sign in", func(t *testing.T) {
		e := newEnv(t, sqliteSpec(t), dashboard.Options{})
		opts := e.opts
		opts.APIKeySignIn, opts.Users = false, nil
		if _, err := dashboard.New(opts); err == nil || !strings.Contains(err.Error(), "KARMAGATE_ADMIN_USERS") {
			t.Errorf("New without users or API key sign-in: %v; want an error naming KARMAGATE_ADMIN_USERS", err)
		}
	})
}

// TestServer_ClientAddress: X-Forwarded-For names the client only when the
// peer is a trusted proxy; the log and the per-address limit use it.
func TestServer_ClientAddress(t *testing.T) {
	tests := []struct {
		name    string
		trusted string
		// want in the log for a request with X-Forwarded-For 203.0.113.7
		remote string
		// whether 40 failures for 40 names, each from another forwarded
		// address, run into the per-address limit
		limited bool
	}{
		{"no proxy trusted", "", "remote=127.0.0.1", true},
		{"another proxy trusted", "10.0.0.0/8", "remote=127.0.0.1", true},
		{"this proxy trusted", "127.0.0.0/8", "remote=203.0.113.7", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			opts := dashboard.Options{Users: twoAdmins(t), Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			if tt.trusted != "" {
				p, err := dashboard.ParseTrustedProxies(tt.trusted)
				if err != nil {
					t.Fatal(err)
				}
				opts.TrustedProxies = p
			}
			e := newEnv(t, sqliteSpec(t), opts)
			e.do("POST", "/admin/login", "", url.Values{"name": {"alice"}, "secret": {"x"}}, "X-Forwarded-For", "198.51.100.1, 203.0.113.7")
			if !strings.Contains(logs.String(), tt.remote) {
				t.Errorf("the log does not name %s:\n%s", tt.remote, logs.String())
			}
			limited := false
			for i := range 40 {
				p := e.do("POST", "/admin/login", "", url.Values{"name": {"guess" + string(rune('a'+i%26)) + string(rune('a'+i/26))}, "secret": {"x"}},
					"X-Forwarded-For", "192.0.2."+string(rune('0'+i/10))+string(rune('0'+i%10)))
				if p.Status == http.StatusTooManyRequests {
					limited = true
				}
			}
			if limited != tt.limited {
				t.Errorf("limited by address: %v; want %v", limited, tt.limited)
			}
		})
	}
}

func TestParseTrustedProxies(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"", "[]", true},
		{"10.0.0.0/8, 127.0.0.1/32", "[10.0.0.0/8 127.0.0.1/32]", true},
		{"192.168.1.7", "[192.168.1.7/32]", true},
		{"10.1.2.3/8", "[10.0.0.0/8]", true},
		{"::1/128", "[::1/128]", true},
		{"10.0.0.0/33", "", false},
		{"proxy.example", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := dashboard.ParseTrustedProxies(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v; want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !strings.Contains(err.Error(), "KARMAGATE_TRUSTED_PROXIES") {
					t.Errorf("the error does not name the variable: %v", err)
				}
				return
			}
			if s := fmtPrefixes(got); s != tt.want {
				t.Errorf("got %s; want %s", s, tt.want)
			}
		})
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve runs one request through d.
func serve(d http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	d.ServeHTTP(rec, req)
	return rec
}

func fmtPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

func TestClientAddr(t *testing.T) {
	trusted, err := dashboard.ParseTrustedProxies("10.0.0.0/8, 127.0.0.1, ::1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer, header ignored", "192.0.2.9:5000", []string{"203.0.113.7"}, "192.0.2.9"},
		{"trusted peer, no header", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"trusted peer", "127.0.0.1:5000", []string{"203.0.113.7"}, "203.0.113.7"},
		{"the nearest untrusted, not a forged one further left", "127.0.0.1:5000", []string{"198.51.100.1, 203.0.113.7"}, "203.0.113.7"},
		{"a chain of trusted proxies", "127.0.0.1:5000", []string{"203.0.113.7, 10.1.2.3", "10.4.5.6"}, "203.0.113.7"},
		{"only proxies", "127.0.0.1:5000", []string{"10.1.2.3"}, "10.1.2.3"},
		{"garbage stops the walk", "127.0.0.1:5000", []string{"203.0.113.7, nonsense, 10.1.2.3"}, "10.1.2.3"},
		{"IPv6 peer", "[::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"IPv4-mapped peer", "[::ffff:127.0.0.1]:5000", []string{"203.0.113.7"}, "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/admin/login", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := dashboard.ClientAddr(r, trusted).String(); got != tt.want {
				t.Errorf("got %s; want %s", got, tt.want)
			}
		})
	}
}
