package api

import (
	"net/http"
	"time"
)

// LoginURLs signs links to Log in with Telegram (package login); nil when
// TELEGRAM_OIDC_CLIENT_ID is not set, and the route answers 503.
type LoginURLs interface {
	LoginURL(memberID string) (url string, expires time.Time)
}

// loginURL is POST /api/v1/members/{id}/login-url: a signed link to
// GET /auth/telegram for the member, for the website to send them to
// (the same link the website can sign itself with KARMAGATE_LINK_SECRET).
// It takes no body.
func (s *Server) loginURL(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if r.ContentLength > 0 {
		return problem(http.StatusBadRequest, "unexpected-body", "POST /api/v1/members/{id}/login-url takes no body")
	}
	if s.loginURLs == nil {
		return problem(http.StatusServiceUnavailable, "oidc-off",
			"Log in with Telegram is off: set TELEGRAM_OIDC_CLIENT_ID, TELEGRAM_OIDC_CLIENT_SECRET, KARMAGATE_LINK_SECRET and KARMAGATE_PUBLIC_URL")
	}
	if _, err := s.store.FindMember(r.Context(), id); err != nil {
		return err
	}
	u, exp := s.loginURLs.LoginURL(id)
	writeJSON(w, http.StatusOK, map[string]any{"url": u, "expires_at": exp.UTC(), "_links": map[string]any{"member": link(memberPath(id))}})
	return nil
}
