package oidc

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// verifierPattern is a PKCE code verifier (RFC 7636 §4.1).
var verifierPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// tokenError is an error of the token endpoint (RFC 6749 §5.2).
type tokenError struct {
	status     int
	code, desc string
}

// token is POST /token: an authorization code, the client's credentials
// (client_secret_basic or client_secret_post, not both) and the PKCE
// verifier, for an ID token. A code works once and for CodeTTL; it is
// spent by the first request that names it, whatever comes of it.
func (s *Issuer) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	body, te := s.exchange(w, r)
	if te != nil {
		if te.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="telegram"`)
		}
		writeJSON(w, te.status, map[string]string{"error": te.code, "error_description": te.desc})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Issuer) exchange(w http.ResponseWriter, r *http.Request) (map[string]any, *tokenError) {
	bad := func(code, format string, args ...any) *tokenError {
		return &tokenError{http.StatusBadRequest, code, fmt.Sprintf(format, args...)}
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, bad("invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return nil, bad("invalid_request", "unreadable form: %v", err)
	}
	if len(r.URL.RawQuery) > 0 {
		return nil, bad("invalid_request", "parameters go in the body, not the query string")
	}
	form := r.PostForm
	for k, v := range form {
		if len(v) > 1 {
			return nil, bad("invalid_request", "%s is given %d times", k, len(v))
		}
	}
	if err := s.authenticate(r, form); err != nil {
		return nil, err
	}
	if gt := form.Get("grant_type"); gt != "authorization_code" {
		return nil, bad("unsupported_grant_type", "grant_type %q: only authorization_code", gt)
	}
	now := s.people.Now()
	s.mu.Lock()
	g, ok := s.codes[form.Get("code")]
	delete(s.codes, form.Get("code")) // one use, whatever comes next
	forge := ""
	if ok && len(s.forge) > 0 {
		forge, s.forge = s.forge[0], s.forge[1:]
	}
	s.mu.Unlock()
	switch {
	case !ok:
		return nil, bad("invalid_grant", "the code is unknown, used or expired")
	case now.After(g.expires):
		return nil, bad("invalid_grant", "the code is unknown, used or expired")
	case form.Get("redirect_uri") != g.redirect:
		return nil, bad("invalid_grant", "redirect_uri differs from the authorize request's")
	case !verifierPattern.MatchString(form.Get("code_verifier")):
		return nil, bad("invalid_grant", "code_verifier is missing or malformed (43-128 characters of A-Z a-z 0-9 - . _ ~)")
	}
	sum := sha256.Sum256([]byte(form.Get("code_verifier")))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.challenge)) != 1 {
		return nil, bad("invalid_grant", "code_verifier does not match the code_challenge")
	}
	u, ok := s.people.User(g.user)
	if !ok {
		return nil, bad("invalid_grant", "the account is gone")
	}
	claims := map[string]any{
		"iss": s.issuer, "aud": s.clientID, "sub": strconv.FormatInt(u.ID, 10),
		"iat": now.Unix(), "exp": now.Add(IDTokenTTL).Unix(),
		"id": u.ID, "name": strings.TrimSpace(u.FirstName + " " + u.LastName),
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	if u.Username != "" {
		claims["preferred_username"] = u.Username
		claims["picture"] = "https://t.me/i/userpic/320/" + u.Username + ".jpg"
	}
	if slices.Contains(g.scope, "phone") && u.Phone != "" {
		claims["phone_number"] = "+" + u.Phone
	}
	idToken, err := s.idToken(claims, forge)
	if err != nil {
		return nil, &tokenError{http.StatusInternalServerError, "server_error", err.Error()}
	}
	s.log.Debug("id token issued", "user", u.ID, "scope", strings.Join(g.scope, " "), "forged", forge)
	return map[string]any{
		"access_token": randomToken(32), "token_type": "Bearer", "expires_in": int(IDTokenTTL.Seconds()),
		"id_token": idToken, "scope": strings.Join(g.scope, " "),
	}, nil
}

// authenticate checks the client's credentials: HTTP Basic
// (client_secret_basic, the id and secret form-encoded first) or the
// form's client_id and client_secret (client_secret_post), exactly one.
func (s *Issuer) authenticate(r *http.Request, form url.Values) *tokenError {
	unauthorized := &tokenError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}
	id, secret, basic := r.BasicAuth()
	if basic {
		if form.Has("client_secret") {
			return &tokenError{http.StatusBadRequest, "invalid_request", "use one client authentication method, not both"}
		}
		var err1, err2 error
		id, err1 = url.QueryUnescape(id)
		secret, err2 = url.QueryUnescape(secret)
		if err1 != nil || err2 != nil {
			return unauthorized
		}
		if form.Has("client_id") && form.Get("client_id") != id {
			return unauthorized
		}
	} else {
		if !form.Has("client_secret") {
			return unauthorized
		}
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.clientID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.secret))
	if idOK&secretOK != 1 {
		return unauthorized
	}
	return nil
}

// idToken signs claims, made faulty as forge says.
func (s *Issuer) idToken(claims map[string]any, forge string) (string, error) {
	if err := s.keys(); err != nil {
		return "", err
	}
	signer := s.signer
	switch forge {
	case "audience":
		claims["aud"] = "1" + s.clientID
	case "expired":
		claims["iat"] = claims["iat"].(int64) - 2*int64(IDTokenTTL.Seconds())
		claims["exp"] = claims["iat"].(int64) + int64(IDTokenTTL.Seconds())
	case "nonce":
		claims["nonce"] = randomToken(16)
	case "issuer":
		claims["iss"] = "https://issuer.invalid"
	case "signature":
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return "", err
		}
		if signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: other, KeyID: s.kid}},
			(&jose.SignerOptions{}).WithType("JWT")); err != nil {
			return "", err
		}
	}
	obj, err := signer.Sign(mustJSON(claims))
	if err != nil {
		return "", fmt.Errorf("sign id token: %w", err)
	}
	return obj.CompactSerialize()
}
