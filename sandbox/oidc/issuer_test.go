package oidc_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/karmagate/karmagate/sandbox/oidc"
	"github.com/karmagate/karmagate/sandbox/world"
)

// fixture is an issuer over a world with one bot and one person, on an
// HTTP test server, with a clock the test moves.
type fixture struct {
	t        *testing.T
	iss      *oidc.Issuer
	srv      *httptest.Server
	person   world.User
	bot      world.User
	world    *world.World
	redirect string

	mu  sync.Mutex
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, now: time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), redirect: "https://site.example/auth/telegram/callback"}
	w := world.New(world.Options{Now: f.clock})
	bot, _, err := w.CreateBot("site_bot", "Site")
	if err != nil {
		t.Fatal(err)
	}
	f.world, f.bot = w, bot
	if f.person, err = w.CreateUser(world.UserSpec{FirstName: "Ann", LastName: "Lee", Username: "ann_tg", Phone: "+15550001234"}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	if f.iss, err = oidc.New(oidc.Options{Issuer: f.srv.URL, People: w, Client: bot}); err != nil {
		t.Fatal(err)
	}
	f.iss.Register(mux)
	if err := f.iss.AllowRedirect(f.redirect); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

const verifier = "a-verifier-of-forty-three-characters-or-more-0123"

func challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// authParams is a good authorize request.
func (f *fixture) authParams() url.Values {
	return url.Values{"response_type": {"code"}, "client_id": {f.iss.ClientID()}, "redirect_uri": {f.redirect},
		"scope": {"openid profile phone"}, "state": {"st"}, "nonce": {"nn"},
		"code_challenge": {challenge(verifier)}, "code_challenge_method": {"S256"}}
}

// get is GET /auth as the person's browser (signed in when person is
// not 0), without following the redirect.
func (f *fixture) get(q url.Values, person int64) *http.Response {
	f.t.Helper()
	return f.getWith(q, person, false)
}

// getWith is get, with the auto-consent cookie when auto is set.
func (f *fixture) getWith(q url.Values, person int64, auto bool) *http.Response {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+"/auth?"+q.Encode(), nil)
	if person != 0 {
		req.AddCookie(&http.Cookie{Name: oidc.UserCookie, Value: strconv.FormatInt(person, 10)})
	}
	if auto {
		req.AddCookie(&http.Cookie{Name: oidc.AutoConsentCookie, Value: "1"})
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { res.Body.Close() })
	return res
}

// code runs a consented authorize request and returns the code.
func (f *fixture) code() string {
	f.t.Helper()
	if err := f.iss.Authorize(f.person.ID, f.iss.ClientID(), "openid profile phone"); err != nil {
		f.t.Fatal(err)
	}
	res := f.get(f.authParams(), f.person.ID)
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st" {
		f.t.Fatalf("authorize: %d %s", res.StatusCode, loc)
	}
	return loc.Query().Get("code")
}

// token posts form to /token, with HTTP Basic when basic is set.
func (f *fixture) token(form url.Values, basic []string) (int, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(basic[0], basic[1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		f.t.Fatalf("token: %d %s", res.StatusCode, b)
	}
	return res.StatusCode, out
}

func (f *fixture) exchange(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {f.redirect}, "code_verifier": {verifier}}
}

func TestIssuer_Authorize(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name      string
		edit      func(url.Values)
		signedIn  bool
		auto      bool
		consent   string
		status    int
		wantError string // in the redirect, or "page" for an error page
		wantPage  string
	}{
		{name: "unknown client", edit: func(q url.Values) { q.Set("client_id", "42") }, status: 400, wantPage: "no such client"},
		{name: "redirect not allowed", edit: func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") }, status: 400, wantPage: "not an allowed URL"},
		{name: "redirect with another path", edit: func(q url.Values) { q.Set("redirect_uri", f.redirect+"/x") }, status: 400, wantPage: "not an allowed URL"},
		{name: "no PKCE", edit: func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, status: 303, wantError: "invalid_request"},
		{name: "plain PKCE", edit: func(q url.Values) { q.Set("code_challenge_method", "plain") }, status: 303, wantError: "invalid_request"},
		{name: "no openid", edit: func(q url.Values) { q.Set("scope", "profile") }, status: 303, wantError: "invalid_scope"},
		{name: "unknown scope", edit: func(q url.Values) { q.Set("scope", "openid email") }, status: 303, wantError: "invalid_scope"},
		{name: "implicit flow", edit: func(q url.Values) { q.Set("response_type", "id_token") }, status: 303, wantError: "unsupported_response_type"},
		{name: "no one signed in", status: 200, wantPage: "Sandbox person"},
		{name: "signed in, no consent", signedIn: true, status: 200, wantPage: "Share my phone number"},
		{name: "consent to less", signedIn: true, consent: "openid profile", status: 200, wantPage: "Accept"},
		{name: "consent given", signedIn: true, consent: "openid profile phone", status: 303},
		{name: "auto-consent cookie", signedIn: true, auto: true, status: 303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			f.iss.Reset()
			q := f.authParams()
			if tt.edit != nil {
				tt.edit(q)
			}
			if tt.consent != "" {
				if err := f.iss.Authorize(f.person.ID, f.iss.ClientID(), tt.consent); err != nil {
					t.Fatal(err)
				}
			}
			var who int64
			if tt.signedIn {
				who = f.person.ID
			}
			res := f.getWith(q, who, tt.auto)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			if tt.wantPage != "" && !strings.Contains(string(body), tt.wantPage) {
				t.Errorf("page lacks %q: %s", tt.wantPage, body)
			}
			if res.StatusCode == 303 {
				loc, _ := url.Parse(res.Header.Get("Location"))
				if !strings.HasPrefix(loc.String(), f.redirect+"?") || loc.Query().Get("error") != tt.wantError || loc.Query().Get("state") != "st" {
					t.Errorf("redirected to %s, want error %q", loc, tt.wantError)
				}
				if tt.wantError == "" && loc.Query().Get("code") == "" {
					t.Errorf("no code in %s", loc)
				}
			}
		})
	}
}

func TestIssuer_ConsentForm(t *testing.T) {
	f := newFixture(t)
	res := f.get(f.authParams(), f.person.ID)
	body, _ := io.ReadAll(res.Body)
	csrf := strings.SplitN(strings.SplitN(string(body), `name="csrf" value="`, 2)[1], `"`, 2)[0]
	post := func(form url.Values, person int64) *http.Response {
		req, _ := http.NewRequest("POST", f.srv.URL+"/auth", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: oidc.UserCookie, Value: strconv.FormatInt(person, 10)})
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	form := f.authParams()
	form.Set("action", "accept")
	form.Set("csrf", strings.Repeat("0", 64))
	if res := post(form, f.person.ID); res.StatusCode != http.StatusForbidden {
		t.Errorf("forged csrf: %d, want 403", res.StatusCode)
	}
	form.Set("csrf", csrf)
	form.Set("nonce", "another")
	if res := post(form, f.person.ID); res.StatusCode != http.StatusForbidden {
		t.Errorf("csrf of another request: %d, want 403", res.StatusCode)
	}
	form.Set("nonce", "nn")
	form.Set("action", "decline")
	if res := post(form, f.person.ID); !strings.Contains(res.Header.Get("Location"), "error=access_denied") {
		t.Errorf("decline went to %s", res.Header.Get("Location"))
	}
	form.Set("action", "accept") // share_phone unticked
	res = post(form, f.person.ID)
	loc, _ := url.Parse(res.Header.Get("Location"))
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("accept went to %s", loc)
	}
	st, out := f.token(f.exchange(code), []string{f.iss.ClientID(), f.iss.ClientSecret()})
	if st != 200 || out["scope"] != "openid profile" {
		t.Fatalf("token: %d %v", st, out)
	}
	if claims := f.claims(out); claims["phone_number"] != nil {
		t.Errorf("phone_number given though not shared: %v", claims)
	}
	// Without telegram:bot_access the bot still may not write first; with
	// it, it may.
	if _, err := f.world.SendMessage(f.bot.ID, f.person.ID, "hello", world.SendOptions{}); err == nil {
		t.Fatal("the bot wrote first without leave")
	}
	form.Set("scope", "openid profile telegram:bot_access")
	res = f.get(url.Values(form), f.person.ID) // the consent page for the new scope
	body, _ = io.ReadAll(res.Body)
	csrf = strings.SplitN(strings.SplitN(string(body), `name="csrf" value="`, 2)[1], `"`, 2)[0]
	if !strings.Contains(string(body), "Allow Site to message me") {
		t.Fatalf("the consent page does not ask to allow messages: %s", body)
	}
	form.Set("csrf", csrf)
	form.Set("action", "accept")
	form.Set("allow_messages", "on")
	if res := post(form, f.person.ID); !strings.Contains(res.Header.Get("Location"), "code=") {
		t.Fatalf("accept went to %s", res.Header.Get("Location"))
	}
	if _, err := f.world.SendMessage(f.bot.ID, f.person.ID, "hello", world.SendOptions{}); err != nil {
		t.Errorf("the bot may not write after telegram:bot_access: %v", err)
	}
}

// claims checks the ID token's signature against the JWKS and returns
// its claims.
func (f *fixture) claims(out map[string]any) map[string]any {
	f.t.Helper()
	raw, _ := out["id_token"].(string)
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		f.t.Fatalf("id_token: %v", err)
	}
	res, err := http.Get(f.srv.URL + "/.well-known/jwks.json")
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
		f.t.Fatalf("jwks: %v %+v", err, set)
	}
	payload, err := jws.Verify(set.Keys[0].Key)
	if err != nil {
		f.t.Fatalf("id_token signature: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		f.t.Fatal(err)
	}
	return claims
}

func TestIssuer_Token(t *testing.T) {
	f := newFixture(t)
	basic := func() []string { return []string{f.iss.ClientID(), f.iss.ClientSecret()} }
	tests := []struct {
		name   string
		run    func(code string) (int, map[string]any)
		status int
		errIs  string
	}{
		{name: "client_secret_basic", run: func(c string) (int, map[string]any) { return f.token(f.exchange(c), basic()) }, status: 200},
		{name: "client_secret_post", run: func(c string) (int, map[string]any) {
			form := f.exchange(c)
			form.Set("client_id", f.iss.ClientID())
			form.Set("client_secret", f.iss.ClientSecret())
			return f.token(form, nil)
		}, status: 200},
		{name: "wrong secret", run: func(c string) (int, map[string]any) {
			return f.token(f.exchange(c), []string{f.iss.ClientID(), f.iss.ClientSecret() + "x"})
		}, status: 401, errIs: "invalid_client"},
		{name: "no client authentication", run: func(c string) (int, map[string]any) { return f.token(f.exchange(c), nil) }, status: 401, errIs: "invalid_client"},
		{name: "both methods", run: func(c string) (int, map[string]any) {
			form := f.exchange(c)
			form.Set("client_secret", f.iss.ClientSecret())
			return f.token(form, basic())
		}, status: 400, errIs: "invalid_request"},
		{name: "reused code", run: func(c string) (int, map[string]any) {
			if st, _ := f.token(f.exchange(c), basic()); st != 200 {
				t.Fatalf("first use: %d", st)
			}
			return f.token(f.exchange(c), basic())
		}, status: 400, errIs: "invalid_grant"},
		{name: "code spent by a failed attempt", run: func(c string) (int, map[string]any) {
			form := f.exchange(c)
			form.Set("code_verifier", strings.Repeat("w", 43))
			f.token(form, basic())
			return f.token(f.exchange(c), basic())
		}, status: 400, errIs: "invalid_grant"},
		{name: "wrong verifier", run: func(c string) (int, map[string]any) {
			form := f.exchange(c)
			form.Set("code_verifier", strings.Repeat("w", 43))
			return f.token(form, basic())
		}, status: 400, errIs: "invalid_grant"},
		{name: "no verifier", run: func(c string) (int, map[string]any) {
			form := f.exchange(c)
			form.Del("code_verifier")
			return f.token(form, basic())
		}, status: 400, errIs: "invalid_grant"},
		{name: "wrong redirect", run: func(c string) (int, map[string]any) {
			form := f.exchange(c)
			form.Set("redirect_uri", "https://site.example/other")
			return f.token(form, basic())
		}, status: 400, errIs: "invalid_grant"},
		{name: "expired code", run: func(c string) (int, map[string]any) {
			f.advance(oidc.CodeTTL + time.Second)
			return f.token(f.exchange(c), basic())
		}, status: 400, errIs: "invalid_grant"},
		{name: "unknown code", run: func(string) (int, map[string]any) { return f.token(f.exchange("nope"), basic()) }, status: 400, errIs: "invalid_grant"},
		{name: "another grant type", run: func(c string) (int, map[string]any) {
			form := f.exchange(c)
			form.Set("grant_type", "client_credentials")
			return f.token(form, basic())
		}, status: 400, errIs: "unsupported_grant_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			st, out := tt.run(f.code())
			if st != tt.status || (tt.errIs != "" && out["error"] != tt.errIs) {
				t.Fatalf("got %d %v, want %d %s", st, out, tt.status, tt.errIs)
			}
			if st != 200 {
				if out["id_token"] != nil {
					t.Errorf("an id_token with an error")
				}
				return
			}
			c := f.claims(out)
			now := f.clock().Unix()
			want := map[string]any{"iss": f.srv.URL, "aud": f.iss.ClientID(), "sub": strconv.FormatInt(f.person.ID, 10),
				"nonce": "nn", "id": float64(f.person.ID), "name": "Ann Lee", "preferred_username": "ann_tg", "phone_number": "+15550001234",
				"iat": float64(now), "exp": float64(now + int64(oidc.IDTokenTTL.Seconds()))}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("claim %s = %v, want %v", k, c[k], v)
				}
			}
			if c["picture"] == nil {
				t.Error("no picture claim")
			}
		})
	}
}

func TestIssuer_Discovery(t *testing.T) {
	f := newFixture(t)
	res, err := http.Get(f.srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var d map[string]any
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"issuer": f.srv.URL, "authorization_endpoint": f.srv.URL + "/auth",
		"token_endpoint": f.srv.URL + "/token", "jwks_uri": f.srv.URL + "/.well-known/jwks.json"} {
		if d[k] != v {
			t.Errorf("%s = %v, want %s", k, d[k], v)
		}
	}
}
