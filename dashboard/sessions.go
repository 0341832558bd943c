package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/karmagate/karmagate/models"
)

// SessionStore records the dashboard's sessions; *models.Store provides
// it. A session exists while its row does: signing out deletes it.
type SessionStore interface {
	CreateDashboardSession(ctx context.Context, sess *models.DashboardSession) error
	FindDashboardSession(ctx context.Context, tokenHash string) (*models.DashboardSession, error)
	DeleteDashboardSession(ctx context.Context, tokenHash string) error
	DeleteDashboardSessions(ctx context.Context, user string) (int64, error)
	PruneDashboardSessions(ctx context.Context, now time.Time, valid map[string]string) (int64, error)
}

// session is a signed-in admin.
type session struct {
	User string
	CSRF string // the token every form of this session carries
	hash string // names the session's row
}

func (s *session) checkCSRF(token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(s.CSRF))
}

// sessionKeys are derived from the secret: one hashes the cookie's token
// into the row's name, one derives the token's CSRF token. A changed
// secret thus ends every session.
type sessionKeys struct {
	token, csrf []byte
	ttl         time.Duration
}

func newSessionKeys(secret []byte, ttl time.Duration) sessionKeys {
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	return sessionKeys{token: derive("karmagate dashboard session v2"), csrf: derive("karmagate dashboard csrf v2"), ttl: ttl}
}

func (k sessionKeys) mac(key []byte, token string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(token))
	return m.Sum(nil)
}

// hash is what the database keeps of a token.
func (k sessionKeys) hash(token string) string { return hex.EncodeToString(k.mac(k.token, token)) }

func (k sessionKeys) csrfFor(token string) string {
	return base64.RawURLEncoding.EncodeToString(k.mac(k.csrf, token)[:24])
}

// sessionFrom returns the request's valid session, or nil. A session that
// has expired, or whose credential has changed since, is deleted.
func (s *Server) sessionFrom(r *http.Request) (*session, error) {
	name := CookieName
	if !secureRequest(r) {
		name = LocalCookieName
	}
	c, err := r.Cookie(name)
	if err != nil || len(c.Value) != tokenChars {
		return nil, nil
	}
	hash := s.keys.hash(c.Value)
	row, err := s.sessions.FindDashboardSession(r.Context(), hash)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the session: %w", err)
	}
	fp := s.creds.fingerprint(row.UserName)
	if !s.now().Before(row.ExpiresAt) || fp == "" || !hmac.Equal([]byte(fp), []byte(row.Credential)) {
		if err := s.sessions.DeleteDashboardSession(r.Context(), hash); err != nil {
			s.log.WarnContext(r.Context(), "dashboard: delete an ended session", "err", err)
		}
		return nil, nil
	}
	return &session{User: row.UserName, CSRF: s.keys.csrfFor(c.Value), hash: hash}, nil
}

// tokenChars is the length of a session token: 32 random bytes, base64url.
const tokenChars = 43

// setSession records a new session for user and sets its cookie.
func (s *Server) setSession(w http.ResponseWriter, r *http.Request, user, remote string) error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("make a session token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	err := s.sessions.CreateDashboardSession(r.Context(), &models.DashboardSession{TokenHash: s.keys.hash(token), UserName: user,
		Credential: s.creds.fingerprint(user), Remote: truncate(remote, 60), CreatedAt: now, ExpiresAt: now.Add(s.keys.ttl)})
	if err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	http.SetCookie(w, sessionCookie(r, token))
	return nil
}

// PruneSessions deletes the sessions that have expired, and those of admins
// whose password hash changed or who are no longer listed
// (KARMAGATE_ADMIN_USERS); serve calls it at start. Such sessions are
// refused anyway; this takes them out of the database.
func (s *Server) PruneSessions(ctx context.Context) error {
	n, err := s.sessions.PruneDashboardSessions(ctx, s.now(), s.creds.fingerprints())
	if err != nil {
		return fmt.Errorf("dashboard: prune sessions: %w", err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "dashboard: sessions ended (expired, or the admin's password changed)", "sessions", n)
	}
	return nil
}
