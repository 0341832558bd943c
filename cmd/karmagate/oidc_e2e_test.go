package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Log in with Telegram (OpenID Connect) through the real binary against
// the sandbox's issuer: the website's link, Telegram's consent, the code
// exchanged, the ID token checked, the member linked, the phone claim in
// the member's record; forged and replayed returns refused with nothing
// linked.

// oidcE2E is serve with Log in with Telegram on, the website's profile
// page a test server that records where people come back.
type oidcE2E struct {
	*e2e
	profile *httptest.Server
	mu      sync.Mutex
	landed  []url.Values // the profile page's queries, in order
	aliceID int64        // the first story's person
}

// newOIDCE2E serves the website's profile page with site (a plain text
// page when nil) at /profile.php.
func newOIDCE2E(t *testing.T, site func(o *oidcE2E, w http.ResponseWriter, r *http.Request)) *oidcE2E {
	t.Helper()
	o := &oidcE2E{}
	o.profile = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.landed = append(o.landed, r.URL.Query())
		o.mu.Unlock()
		if site != nil {
			site(o, w, r)
			return
		}
		io.WriteString(w, "the website's profile page")
	}))
	t.Cleanup(o.profile.Close)
	o.e2e = newE2E(t, false)
	public := "http://" + o.listen
	o.serve("KARMAGATE_PUBLIC_URL="+public, "KARMAGATE_PROFILE_URL="+o.profile.URL+"/profile.php?tab=telegram")
	// BotFather: Bot Settings → Web Login → allowed URLs.
	o.sandbox("POST", "/sandbox/oidc/redirects", map[string]any{"url": public + "/auth/telegram/callback"}, nil)
	return o
}

// person makes a sandbox person with a phone who consented to give the
// bot their profile and phone.
func (o *oidcE2E) person(name, phone string) int64 {
	o.t.Helper()
	var u sbUser
	o.sandbox("POST", "/sandbox/users", map[string]any{"first_name": name, "username": strings.ToLower(name) + "_tg", "phone": phone}, &u)
	o.sandbox("POST", fmt.Sprintf("/sandbox/users/%d/authorize", u.ID), map[string]any{
		"client_id": o.vars["TELEGRAM_OIDC_CLIENT_ID"], "scope": "openid profile phone telegram:bot_access"}, nil)
	return u.ID
}

// member puts a website member.
func (o *oidcE2E) member(id string) {
	o.t.Helper()
	if st := o.api("PUT", "/api/v1/members/"+id, map[string]any{"karma": 150, "groups": []string{"webmasters"}}, nil); st != 200 && st != 201 {
		o.t.Fatalf("put member %s: %d", id, st)
	}
}

// loginURL asks the API for a login link.
func (o *oidcE2E) loginURL(id string) string {
	o.t.Helper()
	var out struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if st := o.api("POST", "/api/v1/members/"+id+"/login-url", nil, &out); st != 200 || out.URL == "" {
		o.t.Fatalf("login-url for %s: %d %+v", id, st, out)
	}
	if d := time.Until(out.ExpiresAt); d < 10*time.Minute || d > 16*time.Minute {
		o.t.Errorf("login-url expires in %s, want KARMAGATE_LINK_TTL (15m)", d)
	}
	return out.URL
}

// siteLink is a link as the README's PHP makes it: hex HMAC-SHA256 under
// KARMAGATE_LINK_SECRET of "karmagate-login\n" . member . "\n" . exp.
func (o *oidcE2E) siteLink(member string, exp int64) string {
	m := hmac.New(sha256.New, []byte(o.vars["KARMAGATE_LINK_SECRET"]))
	fmt.Fprintf(m, "karmagate-login\n%s\n%d", member, exp)
	q := url.Values{"member": {member}, "exp": {strconv.FormatInt(exp, 10)}, "sig": {hex.EncodeToString(m.Sum(nil))}}
	return "http://" + o.listen + "/auth/telegram?" + q.Encode()
}

// browser is a person's browser: a cookie jar (signed in at the sandbox's
// issuer as person) that follows redirects and remembers them.
type browser struct {
	t    testing.TB
	c    *http.Client
	hops []*url.URL
}

func (o *oidcE2E) browser(person int64) *browser {
	o.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		o.t.Fatal(err)
	}
	issuer, _ := url.Parse(o.vars["TELEGRAM_OIDC_ISSUER"])
	jar.SetCookies(issuer, []*http.Cookie{{Name: "sandbox_oidc_user", Value: strconv.FormatInt(person, 10), Path: "/"}})
	b := &browser{t: o.t}
	b.c = &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.hops = append(b.hops, req.URL)
		return nil
	}}
	return b
}

// open follows rawURL to its end and returns the final URL's query.
func (b *browser) open(rawURL string) (*url.URL, int) {
	b.t.Helper()
	res, err := b.c.Get(rawURL)
	if err != nil {
		b.t.Fatalf("open %s: %v", rawURL, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.Request.URL, res.StatusCode
}

// get opens rawURL and returns where it ended and the page.
func (b *browser) get(rawURL string) (*url.URL, string) {
	b.t.Helper()
	res, err := b.c.Get(rawURL)
	if err != nil {
		b.t.Fatalf("open %s: %v", rawURL, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.Request.URL, string(body)
}

// post submits a form and follows where it leads.
func (b *browser) post(rawURL string, form url.Values) *url.URL {
	b.t.Helper()
	res, err := b.c.PostForm(rawURL, form)
	if err != nil {
		b.t.Fatalf("post %s: %v", rawURL, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.Request.URL
}

var hiddenPattern = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// hiddenFields reads a page's hidden form fields.
func hiddenFields(page string) url.Values {
	out := url.Values{}
	for _, m := range hiddenPattern.FindAllStringSubmatch(page, -1) {
		out.Set(m[1], html.UnescapeString(m[2]))
	}
	return out
}

// hop is the last URL visited with path.
func (b *browser) hop(path string) *url.URL {
	for i := len(b.hops) - 1; i >= 0; i-- {
		if b.hops[i].Path == path {
			return b.hops[i]
		}
	}
	return nil
}

type memberLink struct {
	Telegram *struct {
		UserID          int64      `json:"user_id"`
		Phone           *string    `json:"phone"`
		PhoneVerifiedAt *time.Time `json:"phone_verified_at"`
	} `json:"telegram"`
}

func (o *oidcE2E) linkOf(id string) memberLink {
	o.t.Helper()
	var m memberLink
	if st := o.api("GET", "/api/v1/members/"+id, nil, &m); st != 200 {
		o.t.Fatalf("get member %s: %d", id, st)
	}
	return m
}

// outcome checks that the browser came back to the profile page with
// want (telegram=…) and reason.
func (o *oidcE2E) outcome(final *url.URL, want, reason string) {
	o.t.Helper()
	q := final.Query()
	if final.Path != "/profile.php" || q.Get("tab") != "telegram" || q.Get("telegram") != want || q.Get("reason") != reason {
		o.t.Errorf("came back to %s, want /profile.php?tab=telegram&telegram=%s&reason=%s", final, want, reason)
	}
}

func TestE2E_OIDCLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	o := newOIDCE2E(t, nil)

	t.Run("a member links by OIDC and the phone claim lands", func(t *testing.T) {
		o.t = t
		// A gated group, bound: alice qualifies for it once linked.
		owner := o.user("Owner")
		var chat struct {
			ID int64 `json:"id"`
		}
		o.sandbox("POST", "/sandbox/chats", map[string]any{"title": "Webmasters Pro", "creator": owner}, &chat)
		o.sandbox("POST", fmt.Sprintf("/sandbox/chats/%d/admins", chat.ID), map[string]any{}, nil)
		o.say(owner, chat.ID, o.bindCommand("webmasters-pro"))
		o.member("alice")
		alice := o.person("Alice", "+15550001111")
		o.aliceID = alice
		b := o.browser(alice)
		final, _ := b.open(o.loginURL("alice"))
		o.outcome(final, "linked", "")
		if final.Query().Get("member") != "alice" {
			t.Errorf("came back without member=alice: %s", final)
		}
		auth := b.hop("/auth")
		if auth == nil {
			t.Fatalf("the browser never went to the issuer: %v", b.hops)
		}
		// The request karmagate sent to the issuer: code flow, PKCE
		// S256, a nonce, the phone scope.
		aq := auth.Query()
		if aq.Get("response_type") != "code" || aq.Get("code_challenge_method") != "S256" || len(aq.Get("code_challenge")) != 43 ||
			aq.Get("nonce") == "" || aq.Get("state") == "" || aq.Get("scope") != "openid profile phone telegram:bot_access" || aq.Get("client_id") != o.vars["TELEGRAM_OIDC_CLIENT_ID"] {
			t.Errorf("authorize request %s", auth.RawQuery)
		}
		m := o.linkOf("alice")
		if m.Telegram == nil || m.Telegram.UserID != alice {
			t.Fatalf("alice linked to %+v, want %d", m.Telegram, alice)
		}
		if m.Telegram.Phone == nil || *m.Telegram.Phone != "+15550001111" || m.Telegram.PhoneVerifiedAt == nil {
			t.Errorf("the phone claim did not land: %+v", m.Telegram)
		}
		// She never started the bot, but let it message her at Telegram
		// (telegram:bot_access): her invitation comes by DM.
		o.eventually("alice's invitation by DM", func() bool {
			for _, m := range o.received(alice) {
				if strings.Contains(m, "t.me/+") {
					return true
				}
			}
			return false
		})
		var export struct {
			Member struct {
				Telegram struct {
					Phone string `json:"phone"`
				} `json:"telegram"`
			} `json:"member"`
		}
		if st := o.api("GET", "/api/v1/members/alice/export", nil, &export); st != 200 || export.Member.Telegram.Phone != "+15550001111" {
			t.Errorf("the export lacks the verified phone: %d %+v", st, export)
		}
		t.Run("the return replayed is refused", func(t *testing.T) {
			o.t = t
			cb := b.hop("/auth/telegram/callback")
			if cb == nil {
				t.Fatal("no callback in the hops")
			}
			// Even with the login's cookie put back (the same browser,
			// or a thief who has both), the state is spent.
			jarURL, _ := url.Parse("http://" + o.listen + "/auth/telegram/callback")
			b.c.Jar.SetCookies(jarURL, []*http.Cookie{{Name: "karmagate_tg_login", Value: cb.Query().Get("state"), Path: "/auth/telegram"}})
			final, _ := b.open(cb.String())
			o.outcome(final, "error", "login_used")
			// Without the cookie (another browser): refused before the
			// state is even looked at.
			other := o.browser(alice)
			final, _ = other.open(cb.String())
			o.outcome(final, "error", "wrong_browser")
		})
	})

	t.Run("the website's own link (PHP) works", func(t *testing.T) {
		o.t = t
		o.member("bob")
		bob := o.person("Bob", "+15550002222")
		final, _ := o.browser(bob).open(o.siteLink("bob", time.Now().Add(5*time.Minute).Unix()))
		o.outcome(final, "linked", "")
		if m := o.linkOf("bob"); m.Telegram == nil || m.Telegram.UserID != bob {
			t.Errorf("bob not linked: %+v", m.Telegram)
		}
	})

	t.Run("the README's PHP makes links that work", func(t *testing.T) {
		o.t = t
		php := needTool(t, "php", "apt-get install -y php-cli")
		readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile("(?s)```php\n<\\?php\n(function karmagate_login_url.*?\n}\n)").FindSubmatch(readme)
		if m == nil {
			t.Fatal("no karmagate_login_url snippet in the README")
		}
		script := "<?php\n" + strings.ReplaceAll(string(m[1]), "https://karmagate.example.org", "http://"+o.listen) +
			"\necho karmagate_login_url($argv[1]);\n"
		path := filepath.Join(t.TempDir(), "link.php")
		if err := os.WriteFile(path, []byte(script), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(php, path, "hank")
		cmd.Env = append(os.Environ(), "KARMAGATE_LINK_SECRET="+o.vars["KARMAGATE_LINK_SECRET"])
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("php: %v\n%s", err, out)
		}
		o.member("hank")
		hank := o.person("Hank", "+15550007777")
		final, _ := o.browser(hank).open(string(out))
		o.outcome(final, "linked", "")
		if m := o.linkOf("hank"); m.Telegram == nil || m.Telegram.UserID != hank {
			t.Errorf("hank not linked by the PHP link %s: %+v", out, m.Telegram)
		}
	})

	t.Run("without the phone shared no phone lands", func(t *testing.T) {
		o.t = t
		o.member("dora")
		var u sbUser
		o.sandbox("POST", "/sandbox/users", map[string]any{"first_name": "Dora", "phone": "+15550003333"}, &u)
		// No consent on record: the issuer shows its consent page; Dora
		// unticks "share my phone" and accepts.
		b := o.browser(u.ID)
		page, body := b.get(o.loginURL("dora"))
		if page.Path != "/auth" || !strings.Contains(html.UnescapeString(body), "Share my phone number +15550003333") {
			t.Fatalf("expected the consent page at %s, got %s", page, body)
		}
		if m := o.linkOf("dora"); m.Telegram != nil {
			t.Fatalf("dora linked before consenting: %+v", m.Telegram)
		}
		form := hiddenFields(body)
		form.Set("action", "accept")
		final := b.post(page.String(), form)
		o.outcome(final, "linked", "")
		m := o.linkOf("dora")
		if m.Telegram == nil || m.Telegram.UserID != u.ID {
			t.Fatalf("dora not linked: %+v", m.Telegram)
		}
		if m.Telegram.Phone != nil {
			t.Errorf("a phone landed that Dora did not share: %s", *m.Telegram.Phone)
		}
	})

	t.Run("declined at Telegram links nothing", func(t *testing.T) {
		o.t = t
		o.member("gus")
		var u sbUser
		o.sandbox("POST", "/sandbox/users", map[string]any{"first_name": "Gus"}, &u)
		b := o.browser(u.ID)
		page, body := b.get(o.loginURL("gus"))
		form := hiddenFields(body)
		form.Set("action", "decline")
		o.outcome(b.post(page.String(), form), "error", "denied")
		if m := o.linkOf("gus"); m.Telegram != nil {
			t.Errorf("gus linked after declining: %+v", m.Telegram)
		}
	})

	t.Run("concurrent returns with one state link once", func(t *testing.T) {
		o.t = t
		o.member("fay")
		fay := o.person("Fay", "+15550006666")
		b := o.browser(fay)
		// The browser stops at the return: it holds the code, the state
		// and the login's cookie.
		b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == "/auth/telegram/callback" {
				return http.ErrUseLastResponse
			}
			return nil
		}
		res, err := b.c.Get(o.loginURL("fay"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		cb := res.Header.Get("Location")
		cbURL, _ := url.Parse(cb)
		var cookie *http.Cookie
		for _, c := range b.c.Jar.Cookies(cbURL) {
			if c.Name == "karmagate_tg_login" {
				cookie = c
			}
		}
		if cbURL.Path != "/auth/telegram/callback" || cookie == nil {
			t.Fatalf("no return to replay: %s, cookie %v", cb, cookie)
		}
		const n = 8
		outcomes := make([]url.Values, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				req, _ := http.NewRequest("GET", cb, nil)
				req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
				res, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					t.Error(err)
					return
				}
				res.Body.Close()
				loc, _ := url.Parse(res.Header.Get("Location"))
				outcomes[i] = loc.Query()
			})
		}
		wg.Wait()
		linked, used := 0, 0
		for _, q := range outcomes {
			switch {
			case q.Get("telegram") == "linked":
				linked++
			case q.Get("reason") == "login_used":
				used++
			default:
				t.Errorf("outcome %v", q)
			}
		}
		if linked != 1 || used != n-1 {
			t.Errorf("%d returns at once: %d linked, %d refused as used; want 1 and %d", n, linked, used, n-1)
		}
		if m := o.linkOf("fay"); m.Telegram == nil || m.Telegram.UserID != fay {
			t.Errorf("fay's link %+v", m.Telegram)
		}
	})

	refused := []struct {
		name   string
		forge  string // the sandbox's forged ID token
		link   func(member string) string
		reason string
	}{
		{name: "wrong audience", forge: "audience", reason: "token_invalid"},
		{name: "expired token", forge: "expired", reason: "token_expired"},
		{name: "tampered signature", forge: "signature", reason: "token_invalid"},
		{name: "wrong nonce", forge: "nonce", reason: "nonce_mismatch"},
		{name: "wrong issuer", forge: "issuer", reason: "token_invalid"},
		{name: "bad sig", link: func(m string) string {
			l := o.siteLink(m, time.Now().Add(5*time.Minute).Unix())
			flip := "0"
			if strings.HasSuffix(l, "0") {
				flip = "1"
			}
			return l[:len(l)-1] + flip
		}, reason: "bad_signature"},
		{name: "sig for another member", link: func(m string) string {
			exp := time.Now().Add(5 * time.Minute).Unix()
			other, _ := url.Parse(o.siteLink("alice", exp))
			q := other.Query()
			q.Set("member", m)
			other.RawQuery = q.Encode()
			return other.String()
		}, reason: "bad_signature"},
		{name: "expired link", link: func(m string) string { return o.siteLink(m, time.Now().Add(-time.Second).Unix()) }, reason: "link_expired"},
		{name: "link too far ahead", link: func(m string) string { return o.siteLink(m, time.Now().Add(48*time.Hour).Unix()) }, reason: "link_expired"},
		{name: "malformed link", link: func(m string) string { return "http://" + o.listen + "/auth/telegram?member=" + m }, reason: "bad_link"},
	}
	for i, tt := range refused {
		t.Run("refused: "+tt.name, func(t *testing.T) {
			o.t = t
			id := fmt.Sprintf("forged%d", i)
			o.member(id)
			who := o.person(fmt.Sprintf("Mallory%d", i), fmt.Sprintf("+1555009%04d", i))
			if tt.forge != "" {
				o.sandbox("POST", "/sandbox/oidc/forge", map[string]any{"kind": tt.forge}, nil)
			}
			link := o.loginURL(id)
			if tt.link != nil {
				link = tt.link(id)
			}
			b := o.browser(who)
			final, _ := b.open(link)
			o.outcome(final, "error", tt.reason)
			if tt.link != nil && b.hop("/auth") != nil {
				t.Errorf("a refused link still went to the issuer")
			}
			if m := o.linkOf(id); m.Telegram != nil {
				t.Errorf("%s linked to %d", id, m.Telegram.UserID)
			}
		})
	}

	t.Run("a member linked to another account is not moved", func(t *testing.T) {
		o.t = t
		// alice is linked (first subtest); carol's account logs in with
		// alice's link: alice's account is asked, nothing moves.
		carol := o.person("Carol", "+15550004444")
		before := o.linkOf("alice")
		final, _ := o.browser(carol).open(o.loginURL("alice"))
		o.outcome(final, "pending", "")
		after := o.linkOf("alice")
		if after.Telegram == nil || before.Telegram == nil || after.Telegram.UserID != before.Telegram.UserID {
			t.Errorf("alice moved: %+v → %+v", before.Telegram, after.Telegram)
		}
	})
	o.t = t

	// Alice's join link came once: with the bot's "linked" message, the
	// invite itself sent no second one.
	links := 0
	for _, m := range o.received(o.aliceID) {
		links += strings.Count(m, "t.me/+")
	}
	if links != 1 {
		t.Errorf("alice got the join link %d times: %q", links, o.received(o.aliceID))
	}

	// karmagate doctor discovers the issuer and names the redirect URL.
	doc := exec.Command(os.Args[0], "doctor")
	doc.Dir = o.dir
	doc.Env = append(append([]string{}, o.env...), "KARMAGATE_PUBLIC_URL=http://"+o.listen)
	out, _ := doc.CombinedOutput()
	if want := "✓ telegram login: the issuer " + o.vars["TELEGRAM_OIDC_ISSUER"] + " answers; allow http://" + o.listen + "/auth/telegram/callback"; !strings.Contains(string(out), want) {
		t.Errorf("doctor does not say %q:\n%s", want, out)
	}

	// Every ending is counted, by outcome and reason.
	res, err := http.Get("http://" + o.listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`karmagate_telegram_logins_total{outcome="linked",reason=""}`,
		`karmagate_telegram_logins_total{outcome="error",reason="token_invalid"} 3`,
		`karmagate_telegram_logins_total{outcome="error",reason="login_used"}`,
		`karmagate_telegram_logins_total{outcome="pending",reason=""} 1`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
