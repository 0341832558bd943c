package login_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/login"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/sandbox/oidc"
	"github.com/karmagate/karmagate/sandbox/world"
)

// memStore keeps logins and phones in memory, as models does in the
// database: a state is spent once.
type memStore struct {
	mu      sync.Mutex
	members map[string]bool
	logins  map[string]*memLogin
	phones  map[int64]string
}

type memLogin struct {
	member  string
	expires time.Time
	used    bool
}

func (m *memStore) StartOIDCLogin(_ context.Context, h []byte, member string, ttl time.Duration) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.members[member] {
		return time.Time{}, models.ErrNotFound
	}
	m.logins[hex.EncodeToString(h)] = &memLogin{member: member, expires: time.Now().Add(ttl)}
	return time.Now().Add(ttl), nil
}

func (m *memStore) TakeOIDCLogin(_ context.Context, h []byte) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.logins[hex.EncodeToString(h)]
	switch {
	case !ok:
		return "", models.ErrLoginUnknown
	case l.used:
		return "", models.ErrLoginUsed
	case time.Now().After(l.expires):
		return "", models.ErrLoginExpired
	}
	l.used = true
	return l.member, nil
}

func (m *memStore) SetVerifiedPhone(_ context.Context, _ string, tgUserID int64, phone, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.phones[tgUserID] = phone
	return nil
}

// memLinker records what it was asked to link.
type memLinker struct {
	mu    sync.Mutex
	links map[string]linking.OIDCUser
}

func (l *memLinker) LinkOIDC(_ context.Context, member string, u linking.OIDCUser) (*models.MemberView, *models.Relink, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.links[member] = u
	return &models.MemberView{}, nil, nil
}

type env struct {
	t      *testing.T
	iss    *oidc.Issuer
	srv    *httptest.Server // karmagate's login
	person world.User
	store  *memStore
	linker *memLinker
}

const linkSecret = "a-link-secret-of-thirty-two-characters!!"

// newEnv runs the sandbox's issuer and the login against it on test
// servers, with one member, alice, and one person who consented.
func newEnv(t *testing.T) *env {
	w := world.New(world.Options{})
	bot, _, err := w.CreateBot("site_bot", "Site")
	if err != nil {
		t.Fatal(err)
	}
	person, err := w.CreateUser(world.UserSpec{FirstName: "Ann", Username: "ann_tg", Phone: "+15550001234"})
	if err != nil {
		t.Fatal(err)
	}
	issMux := http.NewServeMux()
	issSrv := httptest.NewServer(issMux)
	t.Cleanup(issSrv.Close)
	iss, err := oidc.New(oidc.Options{Issuer: issSrv.URL, People: w, Client: bot})
	if err != nil {
		t.Fatal(err)
	}
	iss.Register(issMux)
	if err := iss.Authorize(person.ID, iss.ClientID(), "openid profile phone telegram:bot_access"); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, iss: iss, person: person, store: &memStore{members: map[string]bool{"alice": true}, logins: map[string]*memLogin{}, phones: map[int64]string{}},
		linker: &memLinker{links: map[string]linking.OIDCUser{}}}
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	s, err := login.New(login.Options{Store: e.store, Linker: e.linker, ClientID: iss.ClientID(), ClientSecret: iss.ClientSecret(),
		Issuer: issSrv.URL, PublicURL: e.srv.URL, LinkSecret: []byte(linkSecret), Secret: []byte("the-master-secret-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	h = s
	if err := iss.AllowRedirect(s.RedirectURL()); err != nil {
		t.Fatal(err)
	}
	return e
}

// browser is a cookie jar signed in at the issuer as the person.
func (e *env) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(e.iss.URL())
	jar.SetCookies(u, []*http.Cookie{{Name: oidc.UserCookie, Value: strconv.FormatInt(e.person.ID, 10), Path: "/"}})
	return &http.Client{Jar: jar}
}

func (e *env) link(member string) string {
	exp := time.Now().Add(5 * time.Minute).Unix()
	q := url.Values{"member": {member}, "exp": {strconv.FormatInt(exp, 10)}, "sig": {login.Sign([]byte(linkSecret), member, exp)}}
	return e.srv.URL + login.StartPath + "?" + q.Encode()
}

// open follows rawURL and returns the outcome page's query.
func (e *env) open(c *http.Client, rawURL string) url.Values {
	e.t.Helper()
	res, err := c.Get(rawURL)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.Request.URL.Path != login.DonePath {
		e.t.Fatalf("ended at %s, want %s", res.Request.URL, login.DonePath)
	}
	return res.Request.URL.Query()
}

func TestServer_Login(t *testing.T) {
	e := newEnv(t)
	q := e.open(e.browser(), e.link("alice"))
	if q.Get("telegram") != login.OutcomeLinked || q.Get("member") != "alice" {
		t.Fatalf("outcome %v", q)
	}
	u := e.linker.links["alice"]
	if u.ID != e.person.ID || u.Username != "ann_tg" || u.Name != "Ann" || u.Phone != "+15550001234" {
		t.Errorf("linked %+v", u)
	}
	if e.store.phones[e.person.ID] != "+15550001234" {
		t.Errorf("phones %v", e.store.phones)
	}
}

// TestServer_LoginRefused: forged ID tokens, replays, another browser,
// unknown members: refused with their reason, nothing linked.
func TestServer_LoginRefused(t *testing.T) {
	tests := []struct {
		name   string
		run    func(e *env) url.Values
		reason string
	}{
		{name: "wrong audience", run: forged("audience"), reason: login.ReasonTokenInvalid},
		{name: "expired token", run: forged("expired"), reason: login.ReasonTokenExpired},
		{name: "tampered signature", run: forged("signature"), reason: login.ReasonTokenInvalid},
		{name: "wrong nonce", run: forged("nonce"), reason: login.ReasonNonce},
		{name: "wrong issuer", run: forged("issuer"), reason: login.ReasonTokenInvalid},
		{name: "unknown member", run: func(e *env) url.Values { return e.open(e.browser(), e.link("bob")) }, reason: login.ReasonUnknownMember},
		{name: "replayed return", run: func(e *env) url.Values {
			c := e.browser()
			var cb *url.URL
			c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
				if req.URL.Path == login.CallbackPath {
					cb = req.URL
				}
				return nil
			}
			first := e.open(c, e.link("alice"))
			if first.Get("telegram") != login.OutcomeLinked {
				e.t.Fatalf("first return: %v", first)
			}
			delete(e.linker.links, "alice")
			delete(e.store.phones, e.person.ID)
			// The cookie back, as a thief who has it would send it.
			u, _ := url.Parse(e.srv.URL + login.CallbackPath)
			c.Jar.SetCookies(u, []*http.Cookie{{Name: login.CookieName, Value: cb.Query().Get("state"), Path: login.StartPath}})
			return e.open(c, cb.String())
		}, reason: login.ReasonLoginUsed},
		{name: "another browser", run: func(e *env) url.Values {
			c := e.browser()
			c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
				if req.URL.Path == login.CallbackPath {
					return http.ErrUseLastResponse
				}
				return nil
			}
			res, err := c.Get(e.link("alice"))
			if err != nil {
				e.t.Fatal(err)
			}
			res.Body.Close()
			return e.open(e.browser(), res.Header.Get("Location"))
		}, reason: login.ReasonWrongBrowser},
		{name: "a state never issued", run: func(e *env) url.Values {
			c := e.browser()
			u, _ := url.Parse(e.srv.URL + login.CallbackPath)
			sum := sha256.Sum256([]byte("x"))
			state := hex.EncodeToString(sum[:])
			c.Jar.SetCookies(u, []*http.Cookie{{Name: login.CookieName, Value: state, Path: login.StartPath}})
			return e.open(c, e.srv.URL+login.CallbackPath+"?code=abc&state="+state)
		}, reason: login.ReasonLoginUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			q := tt.run(e)
			if q.Get("telegram") != login.OutcomeError || q.Get("reason") != tt.reason {
				t.Errorf("outcome %v, want error %s", q, tt.reason)
			}
			if len(e.linker.links) != 0 || len(e.store.phones) != 0 {
				t.Errorf("linked %v, phones %v", e.linker.links, e.store.phones)
			}
		})
	}
}

func forged(kind string) func(e *env) url.Values {
	return func(e *env) url.Values {
		if err := e.iss.Forge(kind); err != nil {
			e.t.Fatal(err)
		}
		return e.open(e.browser(), e.link("alice"))
	}
}

func TestServer_IssuerUnreachable(t *testing.T) {
	s, err := login.New(login.Options{Store: &memStore{}, Linker: &memLinker{}, ClientID: "1", ClientSecret: "s",
		Issuer: "http://127.0.0.1:1", PublicURL: "https://k.example", ProfileURL: "https://site.example/p",
		LinkSecret: []byte(linkSecret), Secret: []byte("m"), HTTPClient: &http.Client{Timeout: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Minute).Unix()
	q := url.Values{"member": {"alice"}, "exp": {strconv.FormatInt(exp, 10)}, "sig": {login.Sign([]byte(linkSecret), "alice", exp)}}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", login.StartPath+"?"+q.Encode(), nil))
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || loc != "https://site.example/p?member=alice&reason=unavailable&telegram=error" {
		t.Errorf("%d %s", rec.Code, loc)
	}
	if rec.Header().Get("Referrer-Policy") != "no-referrer" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", rec.Header())
	}
}
