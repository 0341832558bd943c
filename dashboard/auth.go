package dashboard

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

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
	hasKey bool
	users  map[string][]byte
	dummy  []byte // compared against when the name is unknown, to take as long
}

func newCredentials(apiKey string, users []User) credentials {
	c := credentials{users: map[string][]byte{}, hasKey: apiKey != ""}
	c.apiKey = sha256.Sum256([]byte(apiKey))
	for _, u := range users {
		c.users[u.Name] = u.Hash
	}
	c.dummy, _ = bcrypt.GenerateFromPassword([]byte("karmagate"), bcrypt.MinCost)
	return c
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
		bcrypt.CompareHashAndPassword(c.dummy, []byte(secret))
		return ""
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(secret)) != nil {
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

// session is a signed-in admin, as the cookie carries it.
type session struct {
	User    string `json:"u"`
	Cred    string `json:"k"` // the credential's fingerprint
	CSRF    string `json:"c"`
	Expires int64  `json:"e"` // unix seconds
}

func (s *session) checkCSRF(token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(s.CSRF))
}

// sessionCodec signs and checks session cookies.
type sessionCodec struct {
	key []byte
	ttl time.Duration
}

func newSessionCodec(secret []byte, ttl time.Duration) sessionCodec {
	// A key of its own, so that a session cookie can never pass for
	// anything else signed with the secret.
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("karmagate dashboard session v1"))
	return sessionCodec{key: m.Sum(nil), ttl: ttl}
}

func (c sessionCodec) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write(payload)
	return m.Sum(nil)
}

func (c sessionCodec) encode(s *session) (string, error) {
	payload, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode session: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(c.sign(payload)), nil
}

func (c sessionCodec) decode(v string, now time.Time) (*session, bool) {
	p, sig, ok := strings.Cut(v, ".")
	if !ok {
		return nil, false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, c.sign(payload)) {
		return nil, false
	}
	var s session
	if err := json.Unmarshal(payload, &s); err != nil || now.Unix() >= s.Expires || s.CSRF == "" {
		return nil, false
	}
	return &s, true
}

// sessionFrom returns the request's valid session, or nil.
func (s *Server) sessionFrom(r *http.Request) *session {
	name := CookieName
	if !secureRequest(r) {
		name = LocalCookieName
	}
	c, err := r.Cookie(name)
	if err != nil {
		return nil
	}
	sess, ok := s.sessions.decode(c.Value, s.now())
	if !ok {
		return nil
	}
	if fp := s.creds.fingerprint(sess.User); fp == "" || !hmac.Equal([]byte(fp), []byte(sess.Cred)) {
		return nil
	}
	return sess
}

func (s *Server) setSession(w http.ResponseWriter, r *http.Request, user string) error {
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return fmt.Errorf("make CSRF token: %w", err)
	}
	exp := s.now().Add(s.sessions.ttl)
	v, err := s.sessions.encode(&session{User: user, Cred: s.creds.fingerprint(user),
		CSRF: base64.RawURLEncoding.EncodeToString(tok), Expires: exp.Unix()})
	if err != nil {
		return err
	}
	http.SetCookie(w, sessionCookie(r, v))
	return nil
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
	if sess := s.sessionFrom(r); sess != nil {
		http.Redirect(w, r, safeNext(r.FormValue("next")), http.StatusSeeOther)
		return nil
	}
	s.render(w, r, nil, http.StatusOK, "login", "Sign in", s.loginData(r))
	return nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *session) error {
	d := s.loginData(r)
	d.Name = strings.TrimSpace(r.PostFormValue("name"))
	now := s.now()
	if s.limiter.TokensAt(now) < 1 {
		s.log.WarnContext(r.Context(), "dashboard: sign-in refused, too many failures", "name", logName(d.Name), "remote", r.RemoteAddr)
		d.Error = "Too many failed sign-ins. Wait a minute, then try again."
		s.render(w, r, nil, http.StatusTooManyRequests, "login", "Sign in", d)
		return nil
	}
	user := s.creds.check(d.Name, r.PostFormValue("secret"))
	if user == "" {
		s.limiter.AllowN(now, 1)
		s.log.WarnContext(r.Context(), "dashboard: failed sign-in", "name", logName(d.Name), "remote", r.RemoteAddr)
		d.Error = "That did not match. Check the API key, or your name and password."
		if d.Name == "" && !d.APIKey {
			d.Error = "Enter your name and password."
		}
		s.render(w, r, nil, http.StatusUnauthorized, "login", "Sign in", d)
		return nil
	}
	if err := s.setSession(w, r, user); err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "dashboard: signed in", "user", user, "remote", r.RemoteAddr)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) error {
	clearSession(w, r)
	s.log.InfoContext(r.Context(), "dashboard: signed out", "user", sess.User)
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
