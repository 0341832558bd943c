package sandbox

import (
	"fmt"
	"net/http"

	"github.com/karmagate/karmagate/sandbox/oidc"
)

// Log in with Telegram: the OpenID Connect issuer (package oidc) served at
// the root of the Bot API's address, so that its issuer URL is
// BotAPIURL(), as Telegram's is https://oauth.telegram.org; the control
// calls that play BotFather's Web Login settings and a person's consent.

// startOIDC makes the issuer for the default bot.
func (s *Sandbox) startOIDC() error {
	iss, err := oidc.New(oidc.Options{Issuer: s.BotAPIURL(), People: s.world, Client: s.bot, Logger: s.log.With("component", "oidc")})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	for _, r := range s.cfg.OIDCRedirects {
		if err := iss.AllowRedirect(r); err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
	}
	s.oidc = iss
	return nil
}

// OIDC is the OpenID Connect issuer.
func (s *Sandbox) OIDC() *oidc.Issuer { return s.oidc }

// OIDCEnv is the client of the issuer, for karmagate serve:
// TELEGRAM_OIDC_ISSUER (the sandbox's address), TELEGRAM_OIDC_CLIENT_ID
// (the bot's id) and TELEGRAM_OIDC_CLIENT_SECRET. Not part of Env: Log in
// with Telegram needs more (KARMAGATE_PUBLIC_URL, KARMAGATE_LINK_SECRET),
// which `karmagate sandbox --env-file` writes beside it.
func (s *Sandbox) OIDCEnv() map[string]string {
	return map[string]string{
		"TELEGRAM_OIDC_ISSUER":        s.oidc.URL(),
		"TELEGRAM_OIDC_CLIENT_ID":     s.oidc.ClientID(),
		"TELEGRAM_OIDC_CLIENT_SECRET": s.oidc.ClientSecret(),
	}
}

// OIDCEnvFile renders OIDCEnv as EnvFile renders Env.
func (s *Sandbox) OIDCEnvFile() string {
	return "# Log in with Telegram: the sandbox's OpenID Connect issuer and its client\n" + shellEnv(s.OIDCEnv())
}

// oidcRoutes serves the issuer and its control calls.
func (s *Sandbox) oidcRoutes(mux *http.ServeMux, handle func(string, controlFunc, ...string)) {
	s.oidc.Register(mux)
	handle("POST /sandbox/users/{id}/authorize", s.handleAuthorize, "client_id", "scope")
	handle("GET /sandbox/oidc", s.handleOIDC)
	handle("POST /sandbox/oidc/redirects", s.handleOIDCRedirect, "url")
	handle("POST /sandbox/oidc/forge", s.handleOIDCForge, "kind")
}

// handleAuthorize records a person's consent to give the client the scope
// (space-separated; default "openid profile").
func (s *Sandbox) handleAuthorize(r *http.Request, in map[string]string) (int, any, error) {
	u, err := s.pathUser(r)
	if err != nil {
		return fail(err)
	}
	id := u.ID
	scope := in["scope"]
	if scope == "" {
		scope = "openid profile"
	}
	if err := s.oidc.Authorize(id, in["client_id"], scope); err != nil {
		return fail(badInput("%v", err))
	}
	return answer(map[string]any{"ok": true, "user_id": id, "client_id": in["client_id"], "scope": scope})
}

// handleOIDC shows the client's settings: issuer, client id and secret,
// allowed redirect URLs.
func (s *Sandbox) handleOIDC(*http.Request, map[string]string) (int, any, error) {
	return answer(map[string]any{"issuer": s.oidc.URL(), "client_id": s.oidc.ClientID(), "client_secret": s.oidc.ClientSecret(),
		"redirect_urls": s.oidc.Redirects()})
}

// handleOIDCRedirect allows one more redirect URL.
func (s *Sandbox) handleOIDCRedirect(_ *http.Request, in map[string]string) (int, any, error) {
	if err := s.oidc.AllowRedirect(in["url"]); err != nil {
		return fail(badInput("%v", err))
	}
	return answer(map[string]any{"ok": true, "redirect_urls": s.oidc.Redirects()})
}

// handleOIDCForge makes the next ID token faulty.
func (s *Sandbox) handleOIDCForge(_ *http.Request, in map[string]string) (int, any, error) {
	if err := s.oidc.Forge(in["kind"]); err != nil {
		return fail(badInput("%v", err))
	}
	return answer(map[string]any{"ok": true})
}
