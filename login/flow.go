package login

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
)

// CookieName is the cookie that binds a login to the browser that started
// it: its value is the login's state.
const CookieName = "karmagate_tg_login"

// Outcomes and reasons sent back to the profile page:
// ?telegram=linked, ?telegram=pending (the member is linked to another
// account, which was asked to confirm the move), or
// ?telegram=error&reason=REASON.
const (
	OutcomeLinked  = "linked"
	OutcomePending = "pending"
	OutcomeError   = "error"

	ReasonBadLink        = "bad_link"        // member, exp or sig missing or malformed
	ReasonBadSignature   = "bad_signature"   // sig does not match
	ReasonLinkExpired    = "link_expired"    // exp has passed, or is too far ahead
	ReasonUnknownMember  = "unknown_member"  // no such member
	ReasonUnavailable    = "unavailable"     // Telegram's issuer could not be reached
	ReasonWrongBrowser   = "wrong_browser"   // the return came to another browser than the one that started
	ReasonLoginUnknown   = "login_unknown"   // no login was started with this state
	ReasonLoginUsed      = "login_used"      // the return was used already (a replay)
	ReasonLoginExpired   = "login_expired"   // the person took longer than LoginTTL
	ReasonDenied         = "denied"          // the person declined at Telegram
	ReasonRefused        = "refused"         // Telegram refused the request or the code
	ReasonTokenInvalid   = "token_invalid"   // signature, issuer, audience or claims wrong
	ReasonTokenExpired   = "token_expired"   // the ID token has expired
	ReasonNonce          = "nonce_mismatch"  // the ID token is not this login's
	ReasonAccountForeign = "account_foreign" // the account is not the one the member's username names
	ReasonInternal       = "internal"        // karmagate failed (logged)
)

// newState is a login's state: 256 random bits, base64url.
func newState() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// stateHash is what the database keeps of a state.
func stateHash(state string) []byte {
	h := sha256.Sum256([]byte("karmagate oidc state\x00" + state))
	return h[:]
}

// derive is a value of the login with state, for what ("verifier",
// "nonce"): 43 characters of base64url, a valid PKCE verifier.
func (s *Server) derive(what, state string) string {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(what + "\x00" + state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// start is GET /auth/telegram?member=…&exp=…&sig=…: it checks the
// website's link, records a login and sends the browser to Telegram.
func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	member, err := checkLink(s.opts.LinkSecret, r.URL.Query(), s.opts.Now(), s.opts.LinkTTL)
	if err != nil {
		reason := ReasonBadLink
		switch {
		case errors.Is(err, errLinkForged):
			reason = ReasonBadSignature
		case errors.Is(err, errLinkExpired), errors.Is(err, errLinkTooLong):
			reason = ReasonLinkExpired
		}
		s.log.InfoContext(r.Context(), "login link refused", "why", err)
		// Nothing here ends a login this browser has under way: its
		// cookie stays (so do the other refusals before a new one).
		s.sendBack(w, r, "", OutcomeError, reason)
		return
	}
	p, _, err := s.client(r.Context())
	if err != nil {
		s.log.WarnContext(r.Context(), "login: issuer unreachable", "err", err)
		s.sendBack(w, r, member, OutcomeError, ReasonUnavailable)
		return
	}
	state := newState()
	if _, err := s.opts.Store.StartOIDCLogin(r.Context(), stateHash(state), member, s.opts.LoginTTL); err != nil {
		if errors.Is(err, models.ErrNotFound) {
			s.sendBack(w, r, "", OutcomeError, ReasonUnknownMember)
			return
		}
		s.log.ErrorContext(r.Context(), "login: record the login", "member", member, "err", err)
		s.sendBack(w, r, member, OutcomeError, ReasonInternal)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: state, Path: StartPath, MaxAge: int(s.opts.LoginTTL.Seconds()),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	to := s.oauth2Config(p).AuthCodeURL(state, oidc.Nonce(s.derive("nonce", state)),
		oauth2.S256ChallengeOption(s.derive("verifier", state)))
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// callback is GET /auth/telegram/callback: Telegram sends the person back
// with a code (or an error) and the state. The state must be this
// browser's (the cookie) and a login not yet finished; the code is
// exchanged with the verifier; the ID token's signature, issuer,
// audience, expiry and nonce are checked; then the member is linked.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	state := q.Get("state")
	if len(q["state"]) != 1 || len(state) > 100 {
		s.sendBack(w, r, "", OutcomeError, ReasonLoginUnknown)
		return
	}
	c, err := r.Cookie(CookieName)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) != 1 {
		s.log.InfoContext(ctx, "login return refused: not the browser that started it")
		// The cookie stays: a login this browser has under way is not
		// ended by a return someone else sent it to.
		s.sendBack(w, r, "", OutcomeError, ReasonWrongBrowser)
		return
	}
	member, err := s.opts.Store.TakeOIDCLogin(ctx, stateHash(state))
	if err != nil {
		reason := ReasonInternal
		switch {
		case errors.Is(err, models.ErrLoginUnknown):
			reason = ReasonLoginUnknown
		case errors.Is(err, models.ErrLoginUsed):
			reason = ReasonLoginUsed
		case errors.Is(err, models.ErrLoginExpired):
			reason = ReasonLoginExpired
		default:
			s.log.ErrorContext(ctx, "login: spend the login", "err", err)
		}
		s.log.InfoContext(ctx, "login return refused", "why", reason)
		s.outcome(w, r, "", OutcomeError, reason)
		return
	}
	if e := q.Get("error"); e != "" {
		reason := ReasonRefused
		if e == "access_denied" {
			reason = ReasonDenied
		}
		s.log.InfoContext(ctx, "login: the issuer answered with an error", "member", member, "error", e, "description", q.Get("error_description"))
		s.outcome(w, r, member, OutcomeError, reason)
		return
	}
	u, reason := s.identify(ctx, q.Get("code"), state)
	if reason != "" {
		s.log.InfoContext(ctx, "login: ID token refused", "member", member, "why", reason)
		s.outcome(w, r, member, OutcomeError, reason)
		return
	}
	s.link(w, r, member, u)
}

// identify exchanges code for an ID token and checks it; the reason is
// empty when the account is known.
func (s *Server) identify(ctx context.Context, code, state string) (linking.OIDCUser, string) {
	if code == "" {
		return linking.OIDCUser{}, ReasonRefused
	}
	p, verifier, err := s.client(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "login: issuer unreachable", "err", err)
		return linking.OIDCUser{}, ReasonUnavailable
	}
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, s.opts.HTTPClient), 15*time.Second)
	defer cancel()
	tok, err := s.oauth2Config(p).Exchange(ctx, code, oauth2.VerifierOption(s.derive("verifier", state)))
	if err != nil {
		s.log.InfoContext(ctx, "login: code exchange refused", "err", err)
		return linking.OIDCUser{}, ReasonRefused
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return linking.OIDCUser{}, ReasonTokenInvalid
	}
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		s.log.InfoContext(ctx, "login: ID token refused", "err", err)
		if _, ok := errors.AsType[*oidc.TokenExpiredError](err); ok {
			return linking.OIDCUser{}, ReasonTokenExpired
		}
		return linking.OIDCUser{}, ReasonTokenInvalid
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(s.derive("nonce", state))) != 1 {
		return linking.OIDCUser{}, ReasonNonce
	}
	var claims struct {
		ID                int64  `json:"id"`
		Name              string `json:"name"`
		PreferredUsername string `json:"preferred_username"`
		PhoneNumber       string `json:"phone_number"`
	}
	if err := idt.Claims(&claims); err != nil || claims.ID <= 0 || strconv.FormatInt(claims.ID, 10) != idt.Subject {
		s.log.InfoContext(ctx, "login: ID token claims unusable", "sub", idt.Subject, "err", err)
		return linking.OIDCUser{}, ReasonTokenInvalid
	}
	u := linking.OIDCUser{ID: claims.ID, Username: claims.PreferredUsername, Name: claims.Name, IssuedAt: idt.IssuedAt}
	if claims.PhoneNumber != "" {
		if p, err := linking.NormalizePhone(claims.PhoneNumber); err == nil {
			u.Phone = p
		} else {
			s.log.InfoContext(ctx, "login: phone_number claim unusable", "err", err)
		}
	}
	return u, ""
}

// link links the member to u and records u's phone.
func (s *Server) link(w http.ResponseWriter, r *http.Request, member string, u linking.OIDCUser) {
	ctx := r.Context()
	_, pending, err := s.opts.Linker.LinkOIDC(ctx, member, u)
	switch {
	case errors.Is(err, models.ErrNotFound):
		s.outcome(w, r, "", OutcomeError, ReasonUnknownMember)
		return
	case errors.Is(err, linking.ErrForeign):
		s.outcome(w, r, member, OutcomeError, ReasonAccountForeign)
		return
	case err != nil:
		s.log.ErrorContext(ctx, "login: link the member", "member", member, "err", err)
		s.outcome(w, r, member, OutcomeError, ReasonInternal)
		return
	case pending != nil:
		s.log.InfoContext(ctx, "login: the member is linked to another account, which was asked", "member", member, "user", u.ID)
		s.outcome(w, r, member, OutcomePending, "")
		return
	}
	if u.Phone != "" {
		if err := s.opts.Store.SetVerifiedPhone(ctx, member, u.ID, u.Phone, "oidc"); err != nil {
			// Linked all the same: the phone is a bonus.
			s.log.WarnContext(ctx, "login: record the verified phone", "member", member, "err", err)
		}
	}
	s.log.InfoContext(ctx, "login: member linked", "member", member, "user", u.ID, "phone", u.Phone != "")
	s.outcome(w, r, member, OutcomeLinked, "")
}

// outcome ends a login: the cookie cleared, the browser sent to the
// profile page (or DonePath) with ?telegram=OUTCOME[&reason=…][&member=…].
func (s *Server) outcome(w http.ResponseWriter, r *http.Request, member, outcome, reason string) {
	if _, err := r.Cookie(CookieName); err == nil {
		http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: StartPath, MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	}
	s.sendBack(w, r, member, outcome, reason)
}

// sendBack sends the browser to the profile page (or DonePath) with the
// outcome.
func (s *Server) sendBack(w http.ResponseWriter, r *http.Request, member, outcome, reason string) {
	if s.outcomes != nil {
		s.outcomes.WithLabelValues(outcome, reason).Inc()
	}
	to := s.opts.ProfileURL
	if to == "" {
		to = strings.TrimSuffix(s.opts.PublicURL, "/") + DonePath
	}
	u, err := url.Parse(to)
	if err != nil { // checked at start
		http.Error(w, "KARMAGATE_PROFILE_URL is malformed", http.StatusInternalServerError)
		return
	}
	q := u.Query()
	q.Set("telegram", outcome)
	if reason != "" {
		q.Set("reason", reason)
	}
	if member != "" {
		q.Set("member", member)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}
