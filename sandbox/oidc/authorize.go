package oidc

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// UserCookie names the person signed in at the sandbox's authorize page,
// by their id: a browser test sets it (or signs in on the page) to choose
// who consents.
const UserCookie = "sandbox_oidc_user"

// AutoConsentCookie, set to "1" beside UserCookie, makes the signed-in
// person accept whatever is asked without the consent page (a browser
// test that is not about the page).
const AutoConsentCookie = "sandbox_oidc_autoconsent"

// knownScopes are the scopes Telegram's issuer serves.
var knownScopes = []string{"openid", "profile", "phone", "telegram:bot_access"}

// challengePattern is an S256 code challenge: 32 bytes, base64url, no
// padding.
var challengePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// authParams are the authorize request's parameters, passed on by the
// consent form as hidden fields.
var authParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "nonce", "code_challenge", "code_challenge_method"}

// authRequest is a checked authorize request.
type authRequest struct {
	params   url.Values // authParams only
	redirect string
	scope    []string
}

// oauthError is an error the issuer sends back to the redirect URL.
type oauthError struct {
	code, desc string
}

func parseScope(scope string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, s := range strings.Fields(scope) {
		if !slices.Contains(knownScopes, s) {
			return nil, fmt.Errorf("scope %q is unknown (known: %s)", s, strings.Join(knownScopes, " "))
		}
		out[s] = true
	}
	if !out["openid"] {
		return nil, fmt.Errorf("scope %q lacks openid", scope)
	}
	return out, nil
}

// check reads an authorize request from form. A bad client or redirect
// URL is an error shown on the page (never redirected to); anything else
// wrong goes back to the redirect URL as an oauthError.
func (s *Issuer) check(form url.Values) (*authRequest, *oauthError, error) {
	for _, k := range authParams {
		if len(form[k]) > 1 {
			return nil, nil, fmt.Errorf("%s is given %d times", k, len(form[k]))
		}
	}
	if form.Get("client_id") != s.clientID {
		return nil, nil, fmt.Errorf("client_id %q: no such client", form.Get("client_id"))
	}
	redirect := form.Get("redirect_uri")
	s.mu.Lock()
	allowed := s.redirects[redirect]
	s.mu.Unlock()
	if !allowed {
		return nil, nil, fmt.Errorf("redirect_uri %q is not an allowed URL of this bot (BotFather: Bot Settings → Web Login)", redirect)
	}
	req := &authRequest{params: url.Values{}, redirect: redirect}
	for _, k := range authParams {
		if v := form.Get(k); v != "" {
			req.params.Set(k, v)
		}
	}
	if rt := form.Get("response_type"); rt != "code" {
		return req, &oauthError{"unsupported_response_type", "response_type must be code"}, nil
	}
	scopes, err := parseScope(form.Get("scope"))
	if err != nil {
		return req, &oauthError{"invalid_scope", err.Error()}, nil
	}
	for _, k := range knownScopes {
		if scopes[k] {
			req.scope = append(req.scope, k)
		}
	}
	if form.Get("code_challenge_method") != "S256" || !challengePattern.MatchString(form.Get("code_challenge")) {
		return req, &oauthError{"invalid_request", "PKCE is required: code_challenge (43 characters, base64url) with code_challenge_method=S256"}, nil
	}
	if len(form.Get("state")) > 512 || len(form.Get("nonce")) > 512 {
		return req, &oauthError{"invalid_request", "state and nonce are at most 512 characters"}, nil
	}
	return req, nil, nil
}

// back redirects the browser to the client with query (303).
func (r *authRequest) back(w http.ResponseWriter, req *http.Request, query url.Values) {
	if st := r.params.Get("state"); st != "" {
		query.Set("state", st)
	}
	u, _ := url.Parse(r.redirect)
	q := u.Query()
	for k, v := range query {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, req, u.String(), http.StatusSeeOther)
}

func (r *authRequest) fail(w http.ResponseWriter, req *http.Request, e *oauthError) {
	r.back(w, req, url.Values{"error": {e.code}, "error_description": {e.desc}})
}

// person is who is signed in at the page (UserCookie), 0 for no one.
func (s *Issuer) person(r *http.Request) int64 {
	c, err := r.Cookie(UserCookie)
	if err != nil {
		return 0
	}
	id, err := strconv.ParseInt(c.Value, 10, 64)
	if err != nil {
		return 0
	}
	if u, ok := s.people.User(id); !ok || u.IsBot {
		return 0
	}
	return id
}

// authorize is GET /auth: a code at once for a person who consented to
// these scopes before, else the consent page (or a sign-in page).
func (s *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	req, oe, err := s.check(r.URL.Query())
	if err != nil {
		s.page(w, http.StatusBadRequest, pageData{Title: "Telegram Login", Error: err.Error()})
		return
	}
	if oe != nil {
		req.fail(w, r, oe)
		return
	}
	who := s.person(r)
	if who == 0 {
		s.page(w, http.StatusOK, pageData{Title: "Log in to Telegram", SignIn: true, Bot: s.client, Hidden: req.params})
		return
	}
	s.mu.Lock()
	c, ok := s.consents[who]
	s.mu.Unlock()
	auto, _ := r.Cookie(AutoConsentCookie)
	if ok && covers(c.scopes, req.scope) || auto != nil && auto.Value == "1" {
		s.issueCode(w, r, req, who, req.scope)
		return
	}
	s.consentPage(w, req, who)
}

// covers reports whether a consent gives every scope asked for.
func covers(given map[string]bool, asked []string) bool {
	for _, sc := range asked {
		if !given[sc] {
			return false
		}
	}
	return true
}

func (s *Issuer) consentPage(w http.ResponseWriter, req *authRequest, who int64) {
	u, _ := s.people.User(who)
	d := pageData{Title: "Log in to " + s.client.FirstName, Bot: s.client, Person: u, Hidden: req.params,
		CSRF: s.sign(append([]string{strconv.FormatInt(who, 10)}, req.values()...)...)}
	for _, sc := range req.scope {
		if sc == "phone" && u.Phone != "" {
			d.AsksPhone, d.Phone = true, "+"+u.Phone
		}
		if sc == "telegram:bot_access" {
			d.AsksMessages = true
		}
	}
	s.page(w, http.StatusOK, d)
}

// values lists the request's parameters in a fixed order, for the form's
// MAC.
func (r *authRequest) values() []string {
	out := make([]string, len(authParams))
	for i, k := range authParams {
		out[i] = r.params.Get(k)
	}
	return out
}

// consentForm is POST /auth: the sign-in and consent pages' buttons.
func (s *Issuer) consentForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.page(w, http.StatusBadRequest, pageData{Title: "Telegram Login", Error: "unreadable form: " + err.Error()})
		return
	}
	req, oe, err := s.check(r.PostForm)
	if err != nil {
		s.page(w, http.StatusBadRequest, pageData{Title: "Telegram Login", Error: err.Error()})
		return
	}
	if oe != nil {
		req.fail(w, r, oe)
		return
	}
	switch r.PostForm.Get("action") {
	case "signin":
		id, err := strconv.ParseInt(strings.TrimSpace(r.PostForm.Get("user_id")), 10, 64)
		if u, ok := s.people.User(id); err != nil || !ok || u.IsBot {
			s.page(w, http.StatusOK, pageData{Title: "Log in to Telegram", SignIn: true, Bot: s.client, Hidden: req.params,
				Error: "no such person in the sandbox"})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: UserCookie, Value: strconv.FormatInt(id, 10), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.Redirect(w, r, s.basePath()+"/auth?"+req.params.Encode(), http.StatusSeeOther)
		return
	case "accept", "decline":
	default:
		s.page(w, http.StatusBadRequest, pageData{Title: "Telegram Login", Error: "unknown action"})
		return
	}
	who := s.person(r)
	want := s.sign(append([]string{strconv.FormatInt(who, 10)}, req.values()...)...)
	if who == 0 || subtle.ConstantTimeCompare([]byte(want), []byte(r.PostForm.Get("csrf"))) != 1 {
		s.page(w, http.StatusForbidden, pageData{Title: "Telegram Login", Error: "this form was not made for this person and request: start again"})
		return
	}
	if r.PostForm.Get("action") == "decline" {
		req.fail(w, r, &oauthError{"access_denied", "the person declined"})
		return
	}
	granted := make([]string, 0, len(req.scope))
	for _, sc := range req.scope {
		if sc == "phone" && r.PostForm.Get("share_phone") != "on" || sc == "telegram:bot_access" && r.PostForm.Get("allow_messages") != "on" {
			continue
		}
		granted = append(granted, sc)
	}
	scopes := map[string]bool{}
	for _, sc := range granted {
		scopes[sc] = true
	}
	s.mu.Lock()
	s.consents[who] = consent{scopes: scopes, at: s.people.Now()}
	s.mu.Unlock()
	s.issueCode(w, r, req, who, granted)
}

// WriteGranter is the part of the world that lets a person allow the
// bot to message them; People that implement it get telegram:bot_access
// granted for real.
type WriteGranter interface {
	AllowWrites(userID, botID int64) error
}

// issueCode makes a one-use code for who and sends it to the client. With
// telegram:bot_access granted, the bot may message the person from now on.
func (s *Issuer) issueCode(w http.ResponseWriter, r *http.Request, req *authRequest, who int64, scope []string) {
	if g, ok := s.people.(WriteGranter); ok && slices.Contains(scope, "telegram:bot_access") {
		if err := g.AllowWrites(who, s.client.ID); err != nil {
			s.log.Warn("allow the bot to write", "user", who, "err", err)
		}
	}
	code := randomToken(32)
	now := s.people.Now()
	s.mu.Lock()
	for c, g := range s.codes {
		if now.After(g.expires) {
			delete(s.codes, c)
		}
	}
	s.codes[code] = &grant{user: who, scope: scope, redirect: req.redirect, nonce: req.params.Get("nonce"),
		challenge: req.params.Get("code_challenge"), expires: now.Add(CodeTTL)}
	s.mu.Unlock()
	s.log.Debug("authorization code issued", "user", who, "scope", strings.Join(scope, " "))
	req.back(w, r, url.Values{"code": {code}})
}
