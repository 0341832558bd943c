package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

func sqliteSpec(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "karmagate.db")
}

func TestNew_Refuses(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{})
	tests := []struct {
		name string
		opts dashboard.Options
	}{
		{"no store", dashboard.Options{Sessions: e.store, APIKey: apiKey, APIKeySignIn: true, Secret: []byte(secret)}},
		{"no session store", dashboard.Options{Store: e.store, APIKey: apiKey, APIKeySignIn: true, Secret: []byte(secret)}},
		{"no secret", dashboard.Options{Store: e.store, Sessions: e.store, APIKey: apiKey, APIKeySignIn: true}},
		{"short secret", dashboard.Options{Store: e.store, Sessions: e.store, APIKey: apiKey, APIKeySignIn: true, Secret: []byte("short")}},
		{"no credential", dashboard.Options{Store: e.store, Sessions: e.store, Secret: []byte(secret)}},
		{"the API key, not signing in", dashboard.Options{Store: e.store, Sessions: e.store, APIKey: apiKey, Secret: []byte(secret)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := dashboard.New(tt.opts); err == nil {
				t.Error("New accepted it")
			}
		})
	}
}

func TestParseUsers(t *testing.T) {
	hash := string(mustHash(t, "pw"))
	tests := []struct {
		name  string
		in    string
		names []string
		ok    bool
	}{
		{"empty", "", nil, true},
		{"one", "alice:" + hash, []string{"alice"}, true},
		{"two, spaces and newline", " alice:" + hash + " ,\nbob@example.org:" + hash + "\n", []string{"alice", "bob@example.org"}, true},
		{"htpasswd's $2y$", "carol:" + strings.Replace(hash, "$2a$", "$2y$", 1), []string{"carol"}, true},
		{"no colon", "alice", nil, false},
		{"not bcrypt", "alice:{SHA}abc", nil, false},
		{"reserved name", "api-key:" + hash, nil, false},
		{"bad name", "al ice:" + hash, nil, false},
		{"twice", "alice:" + hash + ",alice:" + hash, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			us, err := dashboard.ParseUsers(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("err %v; want ok=%v", err, tt.ok)
			}
			var names []string
			for _, u := range us {
				names = append(names, u.Name)
			}
			if fmt.Sprint(names) != fmt.Sprint(tt.names) {
				t.Errorf("names %v; want %v", names, tt.names)
			}
			if err != nil && strings.Contains(err.Error(), "$2") {
				t.Errorf("the error shows the hash: %v", err)
			}
		})
	}
}

func TestServer_SignIn(t *testing.T) {
	users, err := dashboard.ParseUsers("alice:" + string(mustHash(t, "correct horse")))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Users: users})
	tests := []struct {
		name     string
		form     url.Values
		status   int
		location string
	}{
		{"api key", url.Values{"secret": {apiKey}}, http.StatusSeeOther, "/admin/"},
		{"api key to where we were going", url.Values{"secret": {apiKey}, "next": {"/admin/members?q=x"}}, http.StatusSeeOther, "/admin/members?q=x"},
		{"never off the dashboard", url.Values{"secret": {apiKey}, "next": {"//evil.example/admin/"}}, http.StatusSeeOther, "/admin/"},
		{"never to another host", url.Values{"secret": {apiKey}, "next": {"https://evil.example/admin/"}}, http.StatusSeeOther, "/admin/"},
		{"admin and password", url.Values{"name": {"alice"}, "secret": {"correct horse"}}, http.StatusSeeOther, "/admin/"},
		{"wrong api key", url.Values{"secret": {"nope-nope-nope-nope"}}, http.StatusUnauthorized, ""},
		{"api key as a password", url.Values{"name": {"alice"}, "secret": {apiKey}}, http.StatusUnauthorized, ""},
		{"wrong password", url.Values{"name": {"alice"}, "secret": {"battery staple"}}, http.StatusUnauthorized, ""},
		{"unknown admin", url.Values{"name": {"mallory"}, "secret": {"correct horse"}}, http.StatusUnauthorized, ""},
		{"empty", url.Values{}, http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.do("POST", "/admin/login", "", tt.form)
			if p.Status != tt.status || p.Location != tt.location {
				t.Fatalf("status %d to %q; want %d to %q", p.Status, p.Location, tt.status, tt.location)
			}
			c := sessionCookie(p)
			if (c != nil) != (tt.status == http.StatusSeeOther) {
				t.Fatalf("cookie %v with status %d", c, p.Status)
			}
			if c != nil {
				if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Name != dashboard.LocalCookieName || c.Path != "/admin" {
					t.Errorf("cookie %+v; want HttpOnly, SameSite=Strict, %s on /admin (plain HTTP on this machine)", c, dashboard.LocalCookieName)
				}
				if got := e.do("GET", "/admin/", c.Value, nil); got.Status != http.StatusOK || !strings.Contains(got.Body, "Sign out") {
					t.Errorf("with the new session: %d", got.Status)
				}
			} else if !strings.Contains(p.Body, "data-error") {
				t.Error("the page does not say the sign-in failed")
			}
		})
	}
	t.Run("secure behind a proxy", func(t *testing.T) {
		p := e.do("POST", "/admin/login", "", url.Values{"secret": {apiKey}}, "X-Forwarded-Proto", "https")
		c := sessionCookie(p)
		if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Name != dashboard.CookieName || c.Path != "/" {
			t.Fatalf("cookie %+v; want %s, Secure, HttpOnly, SameSite=Strict, Path=/", c, dashboard.CookieName)
		}
		// The __Host- cookie is the one read behind the proxy, not the local one.
		req, err := http.NewRequest("GET", e.srv.URL+"/admin/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Forwarded-Proto", "https")
		req.AddCookie(c)
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("behind the proxy with the secure cookie: %d", res.StatusCode)
		}
		req = httpRequest(t, "GET", "/admin/", "")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.AddCookie(&http.Cookie{Name: dashboard.LocalCookieName, Value: c.Value})
		rec := httptest.NewRecorder()
		e.dash.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			t.Errorf("behind the proxy with only the local cookie: %d; want a redirect to sign in", rec.Code)
		}
	})
	t.Run("another site's form", func(t *testing.T) {
		p := e.do("POST", "/admin/login", "", url.Values{"secret": {apiKey}}, "Sec-Fetch-Site", "cross-site")
		if p.Status != http.StatusForbidden || sessionCookie(p) != nil {
			t.Errorf("status %d, cookie %v; want 403 and no session", p.Status, sessionCookie(p))
		}
	})
	t.Run("plain HTTP from afar is explained", func(t *testing.T) {
		rec := httptest.NewRecorder()
		e.dash.ServeHTTP(rec, httptest.NewRequest("GET", "http://karmagate.example.org/admin/login", nil))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "plain HTTP") {
			t.Errorf("status %d; the sign-in page does not warn about plain HTTP", rec.Code)
		}
		rec = httptest.NewRecorder()
		e.dash.ServeHTTP(rec, httptest.NewRequest("GET", "http://127.0.0.1:8080/admin/login", nil))
		if strings.Contains(rec.Body.String(), "plain HTTP") {
			t.Error("the sign-in page warns about plain HTTP on this machine")
		}
	})
}

// httpRequest is a request to the dashboard on this machine with a
// session cookie.
func httpRequest(t *testing.T, method, path, cookie string) *http.Request {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1"+path, nil)
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: dashboard.LocalCookieName, Value: cookie})
	}
	return req
}

func TestServer_SignInLimit(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{})
	for i := range 10 {
		if p := e.do("POST", "/admin/login", "", url.Values{"secret": {"wrong-wrong-wrong"}}); p.Status != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d", i+1, p.Status)
		}
	}
	p := e.do("POST", "/admin/login", "", url.Values{"secret": {apiKey}})
	if p.Status != http.StatusTooManyRequests || sessionCookie(p) != nil || p.Header.Get("Retry-After") != "6" {
		t.Fatalf("after 10 failures the right key got %d, Retry-After %q; want 429 and 6", p.Status, p.Header.Get("Retry-After"))
	}
	e.clock.Advance(5 * time.Second) // the store's clock is the dashboard's
	if p := e.do("POST", "/admin/login", "", url.Values{"secret": {apiKey}}); p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") != "1" {
		t.Errorf("5 s later: %d, Retry-After %q; want 429 and 1", p.Status, p.Header.Get("Retry-After"))
	}
	e.clock.Advance(time.Second)
	if p := e.do("POST", "/admin/login", "", url.Values{"secret": {apiKey}}); p.Status != http.StatusSeeOther {
		t.Errorf("6 s later: %d; want 303", p.Status)
	}
}

func TestServer_Session(t *testing.T) {
	users, err := dashboard.ParseUsers("alice:" + string(mustHash(t, "pw-alice")))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Users: users})
	good := e.signIn("", apiKey)
	alice := e.signIn("alice", "pw-alice")
	tamper := func(v string) string {
		b := []byte(v)
		b[len(b)/2] ^= 1
		return string(b)
	}
	tests := []struct {
		name   string
		cookie string
		ok     bool
	}{
		{"valid", good, true},
		{"admin's", alice, true},
		{"none", "", false},
		{"garbage", "garbage", false},
		{"tampered", tamper(good), false},
		{"half of each", good[:len(good)/2] + alice[len(alice)/2:], false},
		{"longer", good + "A", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := e.do("GET", "/admin/members?q=al", tt.cookie, nil)
			if tt.ok {
				if p.Status != http.StatusOK {
					t.Errorf("status %d; want 200", p.Status)
				}
				return
			}
			if p.Status != http.StatusSeeOther || p.Location != "/admin/login?next=%2Fadmin%2Fmembers%3Fq%3Dal" {
				t.Errorf("status %d to %q; want a redirect to sign in and back", p.Status, p.Location)
			}
		})
	}
	t.Run("expires after 12 hours", func(t *testing.T) {
		e.clock.Advance(11 * time.Hour)
		if p := e.do("GET", "/admin/", good, nil); p.Status != http.StatusOK {
			t.Errorf("after 11h: %d", p.Status)
		}
		e.clock.Advance(time.Hour)
		if p := e.do("GET", "/admin/", good, nil); p.Status != http.StatusSeeOther {
			t.Errorf("after 12h: %d; want a redirect to sign in", p.Status)
		}
		e.clock.Set(t0)
	})
	t.Run("ends when the key or password changes", func(t *testing.T) {
		other, err := dashboard.ParseUsers("alice:" + string(mustHash(t, "new-pw")))
		if err != nil {
			t.Fatal(err)
		}
		opts := e.opts
		opts.APIKey, opts.Users = "another-api-key-0123456789", other
		d, err := dashboard.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{good, alice} {
			req := httpRequest(t, "GET", "/admin/", c)
			rec := httptest.NewRecorder()
			d.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther {
				t.Errorf("old session on the new credentials: %d; want a redirect to sign in", rec.Code)
			}
		}
		opts.Secret = []byte("a-different-secret-0123456789-012")
		opts.APIKey, opts.Users = e.opts.APIKey, e.opts.Users
		d, err = dashboard.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, httpRequest(t, "GET", "/admin/", good))
		if rec.Code != http.StatusSeeOther {
			t.Errorf("session under another secret: %d; want a redirect to sign in", rec.Code)
		}
	})
	t.Run("sign out", func(t *testing.T) {
		good := e.signIn("", apiKey) // the one above ended with the key's change
		csrf := e.csrf(good)
		p := e.do("POST", "/admin/logout", good, url.Values{"csrf": {csrf}})
		c := sessionCookie(p)
		if p.Status != http.StatusSeeOther || p.Location != "/admin/login" || c == nil || c.MaxAge >= 0 {
			t.Errorf("status %d to %q, cookie %+v; want the cookie cleared", p.Status, p.Location, c)
		}
	})
}

func TestServer_CSRF(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec, dashboard.Options{})
		put(t, e, "alice", 150, "webmasters")
		sess := e.signIn("", apiKey)
		other := e.signIn("", apiKey)
		token := e.csrf(sess)
		if token == e.csrf(other) {
			t.Fatal("two sessions share a CSRF token")
		}
		form := func(csrf string) url.Values {
			return url.Values{"csrf": {csrf}, "chat": {"webmasters-pro"}, "mode": {"always"}}
		}
		tests := []struct {
			name   string
			form   url.Values
			hdr    []string
			status int
		}{
			{"no token", form(""), nil, http.StatusForbidden},
			{"wrong token", form("AAAA" + token[4:]), nil, http.StatusForbidden},
			{"another session's token", form(e.csrf(other)), nil, http.StatusForbidden},
			{"from another site", form(token), []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
			{"no session", form(token), nil, http.StatusUnauthorized},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				cookie := sess
				if tt.name == "no session" {
					cookie = ""
				}
				p := e.do("POST", "/admin/members/alice/override", cookie, tt.form, tt.hdr...)
				if p.Status != tt.status {
					t.Errorf("status %d; want %d", p.Status, tt.status)
				}
				if n := e.sqlCount("SELECT COUNT(*) FROM overrides"); n != 0 {
					t.Fatalf("%d overrides written by a refused form", n)
				}
			})
		}
		t.Run("right token", func(t *testing.T) {
			p := e.do("POST", "/admin/members/alice/override", sess, form(token), "Sec-Fetch-Site", "same-origin")
			if p.Status != http.StatusSeeOther || p.Location != "/admin/members/alice?done=exempt" {
				t.Fatalf("status %d to %q", p.Status, p.Location)
			}
			if n := e.sqlCount("SELECT COUNT(*) FROM overrides WHERE mode = 'always'"); n != 1 {
				t.Errorf("%d overrides; want 1", n)
			}
		})
	})
}

func TestServer_SecurityHeaders(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{})
	sess := e.signIn("", apiKey)
	for _, path := range []string{"/admin/login", "/admin/", "/admin/nope"} {
		t.Run(path, func(t *testing.T) {
			p := e.do("GET", path, sess, nil)
			csp := p.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "style-src 'self'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
				t.Errorf("CSP %q allows scripts or inline code", csp)
			}
			for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store", "Referrer-Policy": "same-origin"} {
				if got := p.Header.Get(h); got != want {
					t.Errorf("%s: %q; want %q", h, got, want)
				}
			}
			if strings.Contains(p.Body, "<script") || strings.Contains(p.Body, " style=") || strings.Contains(p.Body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(p.Body) {
				t.Error("the page has a script, an inline style or an event handler the CSP would block")
			}
		})
	}
	t.Run("not found", func(t *testing.T) {
		if p := e.do("GET", "/admin/nope", sess, nil); p.Status != http.StatusNotFound {
			t.Errorf("status %d", p.Status)
		}
	})
	t.Run("prefix redirects", func(t *testing.T) {
		if p := e.do("GET", "/admin", "", nil); p.Status != http.StatusFound || p.Location != "/admin/" {
			t.Errorf("status %d to %q", p.Status, p.Location)
		}
	})
	t.Run("static files without a session", func(t *testing.T) {
		for _, f := range []string{"app.css", "logo.svg"} {
			p := e.do("GET", "/admin/static/"+f, "", nil)
			if p.Status != http.StatusOK || len(p.Body) < 100 {
				t.Errorf("%s: status %d, %d bytes", f, p.Status, len(p.Body))
			}
		}
		if p := e.do("GET", "/admin/static/", "", nil); p.Status != http.StatusNotFound {
			t.Errorf("directory listing: %d", p.Status)
		}
	})
}

// put creates a member through the store.
func put(t *testing.T, e *env, id string, karma int64, groups ...string) {
	t.Helper()
	in := models.MemberInput{ID: id, Karma: karma, Groups: groups}
	if err := in.Normalize(e.store.Rules()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.PutMember(t.Context(), in, "website"); err != nil {
		t.Fatal(err)
	}
}

var tagText = regexp.MustCompile(`<[^>]+>`)

// textAfter returns the text of the element whose opening tag holds
// marker.
func textAfter(t *testing.T, body, marker string) string {
	t.Helper()
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no %s on the page", marker)
	}
	rest := body[i+len(marker):]
	rest = rest[strings.Index(rest, ">")+1:]
	end := strings.Index(rest, "</")
	return strings.TrimSpace(tagText.ReplaceAllString(rest[:end], ""))
}

func TestServer_Pages(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec, dashboard.Options{})
		e.seed()
		sess := e.signIn("", apiKey)
		get := func(t *testing.T, path string) string {
			t.Helper()
			p := e.do("GET", path, sess, nil)
			if p.Status != http.StatusOK {
				t.Fatalf("%s: status %d\n%s", path, p.Status, p.Body)
			}
			return p.Body
		}
		t.Run("overview", func(t *testing.T) {
			body := get(t, "/admin/")
			for stat, q := range map[string]string{
				"members": "SELECT COUNT(*) FROM members",
				"linked":  "SELECT COUNT(*) FROM members WHERE tg_user_id IS NOT NULL",
				"waiting": "SELECT COUNT(*) FROM actions WHERE status IN ('pending','running')",
			} {
				if got, want := textAfter(t, body, `data-stat="`+stat+`"`), formatCount(e.sqlCount(q)); got != want {
					t.Errorf("%s: %s; the database says %s", stat, got, want)
				}
			}
			for _, chat := range []string{"webmasters-pro", "customers-club", "staff-room"} {
				row := body[strings.Index(body, `<tr data-chat="`+chat+`"`):]
				for count, q := range map[string]string{
					"in":         "SELECT COUNT(*) FROM chat_states WHERE chat_key = ? AND in_chat = TRUE",
					"due":        "SELECT COUNT(*) FROM chat_states WHERE chat_key = ? AND state IN ('eligible','invited','member','grace','exempt')",
					"needs_link": "SELECT COUNT(*) FROM chat_states WHERE chat_key = ? AND state = 'needs_link'",
					"pending":    "SELECT COUNT(*) FROM actions WHERE chat_key = ? AND status IN ('pending','running')",
				} {
					if got, want := textAfter(t, row, `data-count="`+count+`"`), formatCount(e.sqlCount(q, chat)); got != want {
						t.Errorf("%s %s: %s; the database says %s", chat, count, got, want)
					}
				}
			}
			if !strings.Contains(body, `data-bot title="Can invite and remove members.">Admin<`) {
				t.Error("Webmasters Pro's bot is not shown as admin")
			}
		})
		t.Run("members", func(t *testing.T) {
			body := get(t, "/admin/members")
			if got, want := regexp.MustCompile(`data-total="(\d+)"`).FindStringSubmatch(body), strconv.FormatInt(e.sqlCount("SELECT COUNT(*) FROM members"), 10); got == nil || got[1] != want {
				t.Errorf("total %v; the database says %s", got, want)
			}
			body = get(t, "/admin/members?q=DMI")
			if rows := strings.Count(body, "<tr data-member="); rows != 1 || !strings.Contains(body, `data-member="dmitri"`) {
				t.Errorf("search DMI: %d rows", rows)
			}
			body = get(t, "/admin/members?chat=customers-club&show=removing")
			if got, want := regexp.MustCompile(`data-total="(\d+)"`).FindStringSubmatch(body), strconv.FormatInt(e.sqlCount("SELECT COUNT(*) FROM chat_states WHERE chat_key = 'customers-club' AND state = 'removing'"), 10); got == nil || got[1] != want || want == "0" {
				t.Errorf("removing in customers-club: %v; the database says %s", got, want)
			}
			body = get(t, "/admin/members?q=nobody-at-all")
			if !strings.Contains(body, "No member matches") {
				t.Error("no empty state for a search without results")
			}
		})
		t.Run("paging", func(t *testing.T) {
			var ins []models.MemberInput
			for i := range 60 {
				in := models.MemberInput{ID: fmt.Sprintf("zz%03d", i), Karma: 1, Groups: []string{"customers"}}
				if err := in.Normalize(e.store.Rules()); err != nil {
					t.Fatal(err)
				}
				ins = append(ins, in)
			}
			if _, err := e.store.PutMembers(t.Context(), ins, "website"); err != nil {
				t.Fatal(err)
			}
			body := get(t, "/admin/members?q=zz&page=2")
			if rows := strings.Count(body, "<tr data-member="); rows != 10 || !strings.Contains(body, "Page 2 of 2") || !strings.Contains(body, `data-member="zz050"`) {
				t.Errorf("page 2 of 60: %d rows", rows)
			}
			if !strings.Contains(body, `href="/admin/members?q=zz" rel="prev"`) {
				t.Error("no link back to page 1")
			}
		})
		t.Run("member", func(t *testing.T) {
			body := get(t, "/admin/members/goran")
			if !strings.Contains(body, `data-action="lift" data-chat="webmasters-pro"`) {
				t.Error("goran's exemption in webmasters-pro cannot be lifted")
			}
			if !strings.Contains(body, `data-action="exempt" data-chat="customers-club"`) {
				t.Error("goran cannot be exempted in customers-club")
			}
			if p := e.do("GET", "/admin/members/nobody", sess, nil); p.Status != http.StatusNotFound {
				t.Errorf("unknown member: %d", p.Status)
			}
		})
		t.Run("removals", func(t *testing.T) {
			body := get(t, "/admin/removals")
			want := e.sqlCount("SELECT COUNT(*) FROM actions WHERE kind = 'remove' AND status IN ('pending','running')")
			if rows := strings.Count(body, "<tr data-removal="); int64(rows) != want || want == 0 {
				t.Errorf("%d removals listed; the database has %d", rows, want)
			}
			if !strings.Contains(body, `data-dryrun="off"`) || strings.Contains(body, "/admin/removals/confirm") {
				t.Error("without dry run the page must say so and offer no confirmation")
			}
		})
		t.Run("audit", func(t *testing.T) {
			body := get(t, "/admin/audit")
			if rows := strings.Count(body, "<tr data-event="); rows != 50 {
				t.Errorf("%d events on the first page; want 50", rows)
			}
			newest := e.sqlCount("SELECT MAX(id) FROM events")
			if !strings.Contains(body, fmt.Sprintf(`<tr data-event="%d"`, newest)) {
				t.Error("the newest event is not on the first page")
			}
			older := regexp.MustCompile(`href="(/admin/audit\?before=\d+)" data-next`).FindStringSubmatch(body)
			if older == nil {
				t.Fatal("no link to older events")
			}
			body = get(t, strings.ReplaceAll(older[1], "&amp;", "&"))
			if strings.Contains(body, fmt.Sprintf(`<tr data-event="%d"`, newest)) || strings.Count(body, "<tr data-event=") == 0 {
				t.Error("the older page repeats the newest event or is empty")
			}
			for _, f := range []struct{ query, where string }{
				{"member=dmitri", "member_ext = 'dmitri'"},
				{"chat=customers-club", "chat_key = 'customers-club'"},
				{"kind=" + models.EventOverrideSet, "kind = '" + models.EventOverrideSet + "'"},
				{"member=dmitri&chat=webmasters-pro&kind=" + models.EventStateChanged, "member_ext = 'dmitri' AND chat_key = 'webmasters-pro' AND kind = '" + models.EventStateChanged + "'"},
			} {
				want := min(50, e.sqlCount("SELECT COUNT(*) FROM events WHERE "+f.where))
				if rows := strings.Count(get(t, "/admin/audit?"+f.query), "<tr data-event="); int64(rows) != want || want == 0 {
					t.Errorf("%s: %d events; the database has %d", f.query, rows, want)
				}
			}
			if p := e.do("GET", "/admin/audit?member=no%20such", sess, nil); p.Status != http.StatusBadRequest {
				t.Errorf("bad member id: %d", p.Status)
			}
		})
		t.Run("charts", func(t *testing.T) {
			body := get(t, "/admin/charts")
			for _, c := range []struct{ title, key string }{{"Webmasters Pro", "webmasters-pro"}, {"Customers Club", "customers-club"}} {
				want := fmt.Sprintf("%s <strong>now %s</strong>", c.title, formatCount(e.sqlCount("SELECT COUNT(*) FROM chat_states WHERE chat_key = ? AND in_chat = TRUE", c.key)))
				if !strings.Contains(body, want) {
					t.Errorf("no %q in the legend", want)
				}
			}
			want := fmt.Sprintf("Waiting or running <strong>now %d</strong>", e.sqlCount("SELECT COUNT(*) FROM actions WHERE status IN ('pending','running')"))
			if !strings.Contains(body, want) {
				t.Errorf("no %q in the outbox legend", want)
			}
			if strings.Count(body, `class="bar `) == 0 || strings.Count(body, `class="line `) != 4 {
				t.Error("the charts lack bars or lines")
			}
		})
		t.Run("userbots without a pool", func(t *testing.T) {
			body := get(t, "/admin/userbots")
			if !strings.Contains(body, `data-userbots="none"`) || strings.Contains(body, `action="/admin/userbots/login"`) {
				t.Error("without a pool the page must say there are no accounts and offer no login")
			}
			csrf := e.csrf(sess)
			if p := e.do("POST", "/admin/userbots/login", sess, url.Values{"csrf": {csrf}, "phone": {"+14155550123"}}); p.Status != http.StatusNotFound {
				t.Errorf("login without a pool: %d", p.Status)
			}
		})
	})
}

func TestServer_EmptyStates(t *testing.T) {
	e := newEnv(t, sqliteSpec(t), dashboard.Options{})
	sess := e.signIn("", apiKey)
	for path, want := range map[string]string{
		"/admin/":         "Nothing has happened yet",
		"/admin/members":  "No members yet",
		"/admin/removals": "Nobody is about to be removed",
		"/admin/audit":    "The audit trail is empty",
		"/admin/charts":   "No action was carried out",
		"/admin/userbots": "No accounts",
	} {
		p := e.do("GET", path, sess, nil)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, want) {
			t.Errorf("%s: status %d, no %q", path, p.Status, want)
		}
	}
}

func TestServer_Exempt(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		e := newEnv(t, spec, dashboard.Options{})
		put(t, e, "carol", 60, "customers")
		if _, err := e.store.LinkTelegram(t.Context(), "carol", 777, "carol_tg", "bot"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.SetInChat(t.Context(), "carol", "customers-club", true, "bot"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.AddKarma(t.Context(), "carol", -40, "website"); err != nil {
			t.Fatal(err)
		}
		removals := "SELECT COUNT(*) FROM actions WHERE kind = 'remove' AND status = 'pending' AND member_ext = 'carol'"
		if n := e.sqlCount(removals); n != 1 {
			t.Fatalf("%d removals queued for carol; want 1", n)
		}
		sess := e.signIn("", apiKey)
		csrf := e.csrf(sess)
		post := func(mode string) page {
			return e.do("POST", "/admin/members/carol/override", sess, url.Values{"csrf": {csrf}, "chat": {"customers-club"}, "mode": {mode}})
		}
		t.Run("exempt", func(t *testing.T) {
			p := post("always")
			if p.Status != http.StatusSeeOther {
				t.Fatalf("status %d", p.Status)
			}
			body := e.do("GET", p.Location, sess, nil).Body
			if !strings.Contains(body, "Exemption saved") || !strings.Contains(body, `data-chat="customers-club" data-state="exempt"`) {
				t.Error("the member page does not show the exemption")
			}
			if n := e.sqlCount("SELECT COUNT(*) FROM overrides WHERE chat_key = 'customers-club' AND mode = 'always'"); n != 1 {
				t.Errorf("%d overrides; want 1", n)
			}
			if n := e.sqlCount(removals); n != 0 {
				t.Errorf("%d removals still queued; the exemption should cancel it", n)
			}
			if n := e.sqlCount("SELECT COUNT(*) FROM events WHERE kind = ? AND actor = 'dashboard:api-key' AND detail = 'override: always'", models.EventOverrideSet); n != 1 {
				t.Errorf("%d audit events by the dashboard; want 1", n)
			}
		})
		t.Run("lift", func(t *testing.T) {
			p := post("none")
			if p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, "done=lifted") {
				t.Fatalf("status %d to %q", p.Status, p.Location)
			}
			if n := e.sqlCount("SELECT COUNT(*) FROM overrides"); n != 0 {
				t.Errorf("%d overrides left", n)
			}
			v, err := e.store.FindMember(t.Context(), "carol")
			if err != nil {
				t.Fatal(err)
			}
			if st := v.Chats[1]; st.ChatKey != "customers-club" || st.State != string(gate.StateRemoving) {
				t.Errorf("after lifting: %s %s; want removing again", st.ChatKey, st.State)
			}
		})
		t.Run("refused", func(t *testing.T) {
			for name, f := range map[string]url.Values{
				"unknown chat": {"csrf": {csrf}, "chat": {"nope"}, "mode": {"always"}},
				"unknown mode": {"csrf": {csrf}, "chat": {"customers-club"}, "mode": {"sometimes"}},
			} {
				p := e.do("POST", "/admin/members/carol/override", sess, f)
				if p.Status != http.StatusNotFound && p.Status != http.StatusBadRequest {
					t.Errorf("%s: status %d", name, p.Status)
				}
			}
			if p := e.do("POST", "/admin/members/nobody/override", sess, url.Values{"csrf": {csrf}, "chat": {"customers-club"}, "mode": {"always"}}); p.Status != http.StatusNotFound {
				t.Errorf("unknown member: %d", p.Status)
			}
		})
	})
}

func TestServer_ConfirmRemovals(t *testing.T) {
	conf := &fakeConfirmer{}
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Removals: conf})
	e.seed()
	sess := e.signIn("", apiKey)
	body := e.do("GET", "/admin/removals", sess, nil).Body
	if strings.Contains(body, `data-confirm="customers-club"`) {
		t.Fatal("removals that are not held need no confirmation, yet the page offers one")
	}
	// Dry run holds the chat's queued removals: now they wait for a confirm.
	if err := e.store.StartDryRun(context.Background(), "customers-club", "test", "test"); err != nil {
		t.Fatal(err)
	}
	body = e.do("GET", "/admin/removals", sess, nil).Body
	if !strings.Contains(body, `data-confirm="customers-club"`) || strings.Contains(body, `data-dryrun="off"`) || !strings.Contains(body, "data-held") {
		t.Fatal("with held removals the page offers no confirmation for customers-club")
	}
	csrf := e.csrf(sess)
	p := e.do("POST", "/admin/removals/confirm", sess, url.Values{"csrf": {csrf}, "chat": {"customers-club"}})
	if p.Status != http.StatusSeeOther || p.Location != "/admin/removals?done=confirmed" {
		t.Fatalf("status %d to %q", p.Status, p.Location)
	}
	if fmt.Sprint(conf.chats) != "[customers-club]" || conf.actor != "dashboard:api-key" {
		t.Errorf("confirmed %v by %q", conf.chats, conf.actor)
	}
	if p := e.do("POST", "/admin/removals/confirm", sess, url.Values{"csrf": {csrf}, "chat": {"nope"}}); p.Status != http.StatusNotFound {
		t.Errorf("unknown chat: %d", p.Status)
	}
	if p := e.do("POST", "/admin/removals/confirm", sess, url.Values{"chat": {"customers-club"}}); p.Status != http.StatusForbidden || len(conf.chats) != 1 {
		t.Errorf("without a token: %d, %d confirmations", p.Status, len(conf.chats))
	}
}

func TestServer_UserbotLogin(t *testing.T) {
	ub := &fakeUserbots{}
	users, err := dashboard.ParseUsers("alice:" + string(mustHash(t, "pw-alice")))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Userbots: ub, Users: users})
	// The website's key sees the accounts but logs none in: the REST
	// routes for it take only KARMAGATE_ADMIN_TOKEN.
	keySess := e.signIn("", apiKey)
	if p := e.do("POST", "/admin/userbots/login", keySess, url.Values{"csrf": {e.csrf(keySess)}, "phone": {"+14155550123"}}); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "API key") {
		t.Fatalf("a login by the API key's session: %d", p.Status)
	}
	if as, _ := ub.Accounts(t.Context()); len(as) != 0 {
		t.Fatalf("the API key logged an account in: %+v", as)
	}
	sess := e.signIn("alice", "pw-alice")
	csrf := e.csrf(sess)
	body := e.do("GET", "/admin/userbots", sess, nil).Body
	if !strings.Contains(body, `data-userbots="empty"`) || !strings.Contains(body, `action="/admin/userbots/login"`) {
		t.Fatal("an empty pool should say so and offer the login form")
	}
	steps := []struct {
		name     string
		path     string
		form     url.Values
		location string
		state    string
	}{
		{"phone", "/admin/userbots/login", url.Values{"phone": {"+44 20 7183 8750"}}, "/admin/userbots?done=code", dashboard.LoginCodeSent},
		{"code", "/admin/userbots/ub1/code", url.Values{"code": {"12345"}}, "/admin/userbots?done=password", dashboard.LoginPasswordNeeded},
		{"password", "/admin/userbots/ub1/password", url.Values{"password": {"hunter2"}}, "/admin/userbots?done=ready", dashboard.LoginReady},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.form.Set("csrf", csrf)
			p := e.do("POST", s.path, sess, s.form)
			if p.Status != http.StatusSeeOther || p.Location != s.location {
				t.Fatalf("status %d to %q; want %q", p.Status, p.Location, s.location)
			}
			as, err := ub.Accounts(t.Context())
			if err != nil || len(as) != 1 || as[0].State != s.state || as[0].Phone != "+442071838750" {
				t.Fatalf("accounts %+v, %v; want one in %s", as, err, s.state)
			}
			page := e.do("GET", p.Location, sess, nil).Body
			if s.state == dashboard.LoginCodeSent && !strings.Contains(page, `data-action="code"`) {
				t.Error("no code form for the account")
			}
			if s.state == dashboard.LoginPasswordNeeded && !strings.Contains(page, `data-action="password"`) {
				t.Error("no password form for the account")
			}
			if strings.Contains(page, "+442071838750") {
				t.Error("the page shows the whole phone number")
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		for name, c := range map[string]struct {
			path string
			form url.Values
			want int
		}{
			"bad phone":  {"/admin/userbots/login", url.Values{"csrf": {csrf}, "phone": {"12345"}}, http.StatusBadRequest},
			"wrong code": {"/admin/userbots/ub1/code", url.Values{"csrf": {csrf}, "code": {"99999"}}, http.StatusBadRequest},
			"no token":   {"/admin/userbots/login", url.Values{"phone": {"+14155550123"}}, http.StatusForbidden},
		} {
			if p := e.do("POST", c.path, sess, c.form); p.Status != c.want {
				t.Errorf("%s: %d; want %d", name, p.Status, c.want)
			}
		}
		if as, _ := ub.Accounts(t.Context()); len(as) != 1 {
			t.Errorf("%d accounts after refused forms; want 1", len(as))
		}
	})
}

// TestServer_UserbotStates: accounts out of the pool show why, with what
// to do in their last error.
func TestServer_UserbotStates(t *testing.T) {
	ub := &fakeUserbots{accounts: []dashboard.Account{
		{ID: "1", Phone: "+31611110001", State: "restricted", Cap: 500, LastError: "Check it with @SpamBot"},
		{ID: "2", Phone: "+31611110002", State: "unauthorized", Cap: 500, LastError: "log the account in again"},
	}}
	e := newEnv(t, sqliteSpec(t), dashboard.Options{Userbots: ub})
	body := e.do("GET", "/admin/userbots", e.signIn("", apiKey), nil).Body
	for _, want := range []string{"Restricted (spam reports)", "Log in again", "@SpamBot", "log the account in again"} {
		if !strings.Contains(body, want) {
			t.Errorf("the userbots page does not say %q", want)
		}
	}
}
