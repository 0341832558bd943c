package dashboard

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// The session cookie's names. Over HTTPS (or behind a proxy) it is
// CookieName: Secure, and the __Host- prefix makes browsers keep it only
// that way, for this host alone. A browser talking to karmagate directly
// on this machine over plain HTTP (the demo, tests) keeps no Secure cookie,
// so there it is LocalCookieName, without Secure, on the dashboard's path.
const (
	CookieName      = "__Host-karmagate-session"
	LocalCookieName = "karmagate-session"
)

// APIKeyUser is the name a session signed in with the API key carries.
const APIKeyUser = "api-key"

// User is a per-admin credential: a name and a bcrypt hash of the
// password.
type User struct {
	Name string
	Hash []byte
}

// ParseUsers reads KARMAGATE_ADMIN_USERS: comma- or newline-separated
// "name:bcrypt-hash" entries, as `htpasswd -nB name` prints them.
func ParseUsers(s string) ([]User, error) {
	var out []User
	seen := map[string]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' }) {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, hash, ok := strings.Cut(f, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("KARMAGATE_ADMIN_USERS: %q is not name:bcrypt-hash (htpasswd -nB NAME prints one)", truncate(f, 20))
		}
		if name == APIKeyUser || !validUserName(name) {
			return nil, fmt.Errorf("KARMAGATE_ADMIN_USERS: %q is not a usable name (1-64 of A-Z a-z 0-9 . _ - @, not %q)", truncate(name, 40), APIKeyUser)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("KARMAGATE_ADMIN_USERS: the hash for %s is not a bcrypt hash (htpasswd -nB %s prints one)", name, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("KARMAGATE_ADMIN_USERS: %s is listed twice", name)
		}
		seen[name] = true
		out = append(out, User{Name: name, Hash: []byte(hash)})
	}
	return out, nil
}

func validUserName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

// credentials checks sign-ins and names each credential by a fingerprint
// that sessions carry: a session made with a key or password that has since
// changed is no longer valid.
type credentials struct {
	apiKey [sha256.Size]byte
	hasKey bool // the API key signs in (KARMAGATE_DASHBOARD_API_KEY)
	users  map[string][]byte
	// dummy is compared against when the name is unknown, to take as long
	// as a known one: a bcrypt hash of the configured hashes' cost.
	dummy    []byte
	compared atomic.Pointer[func()] // tests: called before each bcrypt comparison
}

func newCredentials(apiKey string, keySignIn bool, users []User) (*credentials, error) {
	c := &credentials{users: map[string][]byte{}, hasKey: keySignIn && apiKey != ""}
	c.apiKey = sha256.Sum256([]byte(apiKey))
	cost := 0
	for _, u := range users {
		c.users[u.Name] = u.Hash
		if n, err := bcrypt.Cost(u.Hash); err == nil && n > cost {
			cost = n
		}
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("karmagate"), cost)
	if err != nil {
		return c, fmt.Errorf("dashboard: make the dummy password hash: %w", err)
	}
	c.dummy = dummy
	return c, nil
}

// compare checks a password against a bcrypt hash.
func (c *credentials) compare(hash []byte, secret string) bool {
	if f := c.compared.Load(); f != nil {
		(*f)()
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(secret)) == nil
}

// check returns the user name a sign-in is for, or "" when it is wrong.
// An empty name means the API key.
func (c *credentials) check(name, secret string) string {
	if name == "" {
		got := sha256.Sum256([]byte(secret))
		if c.hasKey && subtle.ConstantTimeCompare(got[:], c.apiKey[:]) == 1 {
			return APIKeyUser
		}
		return ""
	}
	hash, ok := c.users[name]
	if !ok {
		c.compare(c.dummy, secret)
		return ""
	}
	if !c.compare(hash, secret) {
		return ""
	}
	return name
}

// fingerprint names the credential user signs in with; "" for an unknown
// user.
func (c *credentials) fingerprint(user string) string {
	var src []byte
	switch {
	case user == APIKeyUser && c.hasKey:
		src = append([]byte("api-key\x00"), c.apiKey[:]...)
	case c.users[user] != nil:
		src = append([]byte("user\x00"+user+"\x00"), c.users[user]...)
	default:
		return ""
	}
	sum := sha256.Sum256(src)
	return hex.EncodeToString(sum[:8])
}

// fingerprints names the credential of every user who may sign in.
func (c *credentials) fingerprints() map[string]string {
	out := map[string]string{}
	for u := range c.users {
		out[u] = c.fingerprint(u)
	}
	if c.hasKey {
		out[APIKeyUser] = c.fingerprint(APIKeyUser)
	}
	return out
}

// sessionCookie is the cookie carrying value. It has no expiry of its own
// (the browser forgets it when it closes): the signed expiry inside is the
// one that counts.
func sessionCookie(r *http.Request, value string) *http.Cookie {
	c := &http.Cookie{Name: CookieName, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if !secureRequest(r) {
		c.Name, c.Path, c.Secure = LocalCookieName, Prefix, false
	}
	if value == "" {
		c.MaxAge = -1
	}
	return c
}

func clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, sessionCookie(r, ""))
}

// secureRequest reports whether the session cookie must be Secure: always,
// except for a browser on this machine talking to karmagate directly over
// plain HTTP (no TLS, a loopback host, no proxy in between).
func secureRequest(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	for _, h := range []string{"X-Forwarded-Proto", "X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return true
		}
	}
	return !loopbackHost(r.Host)
}

func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

type loginData struct {
	Next      string
	Name      string
	Users     bool // per-admin names are configured
	APIKey    bool // the API key signs in
	Error     string
	PlainHTTP bool // the browser will not keep a Secure cookie here
}

func (s *Server) loginData(r *http.Request) loginData {
	return loginData{Next: safeNext(r.FormValue("next")), Users: len(s.creds.users) > 0, APIKey: s.creds.hasKey,
		PlainHTTP: plainHTTP(r)}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request, _ *session) error {
	sess, err := s.sessionFrom(r)
	if err != nil {
		return err
	}
	if sess != nil {
		http.Redirect(w, r, safeNext(r.FormValue("next")), http.StatusSeeOther)
		return nil
	}
	s.render(w, r, nil, http.StatusOK, "login", "Sign in", s.loginData(r))
	return nil
}

// login checks a sign-in. A try takes a slot from the name's and the
// client address's allowance of failures before the password is checked,
// so that guesses sent at once are refused rather than all checked; a
// sign-in that succeeds gives its slot back.
func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *session) error {
	d := s.loginData(r)
	d.Name = strings.TrimSpace(r.PostFormValue("name"))
	addr := clientAddr(r, s.proxies)
	client := addrText(addr, r)
	name := logName(d.Name)
	slot, wait := s.failures.take(name, addr, s.now())
	if wait > 0 {
		s.log.WarnContext(r.Context(), "dashboard: sign-in refused, too many failures", "name", name, "remote", client, "wait", wait)
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		d.Error = "Too many failed sign-ins. Try again in " + waitText(secs) + "."
		s.render(w, r, nil, http.StatusTooManyRequests, "login", "Sign in", d)
		return nil
	}
	user := s.creds.check(d.Name, r.PostFormValue("secret"))
	if user == "" {
		s.log.WarnContext(r.Context(), "dashboard: failed sign-in", "name", name, "remote", client)
		d.Error = "That did not match. Check your name and password."
		switch {
		case d.Name == "" && !d.APIKey:
			d.Error = "Enter your name and password."
		case d.APIKey:
			d.Error = "That did not match. Check the API key, or your name and password."
		}
		s.render(w, r, nil, http.StatusUnauthorized, "login", "Sign in", d)
		return nil
	}
	s.failures.giveBack(slot, s.now())
	if err := s.setSession(w, r, user, client); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "dashboard: signed in", "user", user, "remote", client)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

// waitText says how long to wait, from seconds: "6 seconds", "2 minutes".
func waitText(secs int) string {
	switch {
	case secs == 1:
		return "1 second"
	case secs < 120:
		return strconv.Itoa(secs) + " seconds"
	}
	return strconv.Itoa((secs+59)/60) + " minutes"
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.sessions.DeleteDashboardSession(r.Context(), sess.hash); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	clearSession(w, r)
	s.log.InfoContext(r.Context(), "dashboard: signed out", "user", sess.User, "remote", s.clientAddr(r))
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
	return nil
}

// logoutEverywhere ends every session of the signed-in admin, this one
// included.
func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request, sess *session) error {
	n, err := s.sessions.DeleteDashboardSessions(r.Context(), sess.User)
	if err != nil {
		return fmt.Errorf("sign out everywhere: %w", err)
	}
	clearSession(w, r)
	s.log.InfoContext(r.Context(), "dashboard: signed out everywhere", "user", sess.User, "sessions", n, "remote", s.clientAddr(r))
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
	return nil
}

// logName is a sign-in name as the log may show it: not whatever was typed
// (it may be a password in the wrong field).
func logName(name string) string {
	switch {
	case name == "":
		return "(API key)"
	case validUserName(name):
		return name
	}
	return "(not a name)"
}

// safeNext keeps a redirect after sign-in inside the dashboard.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(u.Path, Prefix+"/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") ||
		strings.HasPrefix(u.Path, Prefix+"/login") {
		return Prefix + "/"
	}
	return u.RequestURI()
}

// plainHTTP reports whether the page seems to have reached the browser
// over plain HTTP from another machine: browsers drop a Secure cookie
// there, so sign-in cannot work until HTTPS is in front.
func plainHTTP(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return false
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		return true // a proxy says http
	}
	return !loopbackHost(r.Host) && r.Header.Get("Forwarded") == "" && r.Header.Get("X-Forwarded-For") == ""
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
