package main

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/karmagate/karmagate/door"
	"github.com/karmagate/karmagate/login"
)

// OIDCConfig is Log in with Telegram (OpenID Connect): on when
// TELEGRAM_OIDC_CLIENT_ID is set. It uses the door's Config.PublicURL (the
// redirect URL to allow in BotFather is its base + /auth/telegram/callback)
// and Config.ProfileURL (where people return; empty: karmagate's own page).
type OIDCConfig struct {
	// ClientID and ClientSecret are the bot's Web Login credentials from
	// BotFather (TELEGRAM_OIDC_CLIENT_ID: the bot's id;
	// TELEGRAM_OIDC_CLIENT_SECRET).
	ClientID, ClientSecret string
	// Issuer is the OpenID Connect issuer (TELEGRAM_OIDC_ISSUER;
	// login.DefaultIssuer, Telegram's, when empty; the sandbox's env file
	// sets its own).
	Issuer string
	// LinkSecret signs the website's links to /auth/telegram
	// (KARMAGATE_LINK_SECRET).
	LinkSecret string
}

// On reports whether Log in with Telegram is configured.
func (o OIDCConfig) On() bool { return o.ClientID != "" }

// readOIDC reads the OIDC variables.
func readOIDC(getenv func(string) string) OIDCConfig {
	return OIDCConfig{
		ClientID: getenv("TELEGRAM_OIDC_CLIENT_ID"), ClientSecret: getenv("TELEGRAM_OIDC_CLIENT_SECRET"),
		Issuer: getenv("TELEGRAM_OIDC_ISSUER"), LinkSecret: getenv("KARMAGATE_LINK_SECRET"),
	}
}

var digits = regexp.MustCompile(`^[0-9]{1,20}$`)

// validateOIDC checks the OIDC variables: the client id and secret
// together, and with them a link secret and the public URL.
func (c *Config) validateOIDC() error {
	o := c.OIDC
	if !o.On() {
		switch {
		case o.ClientSecret != "":
			return errors.New("TELEGRAM_OIDC_CLIENT_SECRET is set but TELEGRAM_OIDC_CLIENT_ID is not: set both (BotFather: Bot Settings → Web Login), or neither")
		case o.LinkSecret != "":
			return errors.New("KARMAGATE_LINK_SECRET is set but Log in with Telegram is off: set TELEGRAM_OIDC_CLIENT_ID and TELEGRAM_OIDC_CLIENT_SECRET too, or unset it")
		case o.Issuer != "":
			return errors.New("TELEGRAM_OIDC_ISSUER is set but TELEGRAM_OIDC_CLIENT_ID is not: set the client id and secret too, or unset it")
		}
		return nil
	}
	var errs []error
	// Not compared with TELEGRAM_BOT_TOKEN's id: a token being replaced
	// is refused by Telegram on its own, with its own message, and the
	// issuer refuses a client id that is not its bot's.
	if !digits.MatchString(o.ClientID) {
		errs = append(errs, fmt.Errorf("TELEGRAM_OIDC_CLIENT_ID %q is not a bot id (the digits before the colon of the bot's token)", o.ClientID))
	}
	if o.ClientSecret == "" {
		errs = append(errs, errors.New("TELEGRAM_OIDC_CLIENT_ID is set but TELEGRAM_OIDC_CLIENT_SECRET is not: copy it from BotFather (Bot Settings → Web Login)"))
	}
	if o.Issuer != "" {
		errs = append(errs, checkPublicURL("TELEGRAM_OIDC_ISSUER", o.Issuer, false))
	}
	// KARMAGATE_PUBLIC_URL's and KARMAGATE_PROFILE_URL's form is
	// validateDoor's to check.
	if c.publicBase() == "" {
		errs = append(errs, errors.New("KARMAGATE_PUBLIC_URL is not set: Log in with Telegram needs the URL browsers reach karmagate at (e.g. https://karmagate.example.org); allow its /auth/telegram/callback in BotFather"))
	}
	if u, err := url.Parse(c.ProfileURL); c.ProfileURL != "" && err == nil && u.Fragment != "" {
		errs = append(errs, errors.New("KARMAGATE_PROFILE_URL must carry no #fragment: Log in with Telegram adds its outcome to the query"))
	}
	switch n := utf8.RuneCountInString(o.LinkSecret); {
	case n == 0:
		errs = append(errs, errors.New("KARMAGATE_LINK_SECRET is not set: the website signs its links to /auth/telegram with it; use openssl rand -hex 32 and give the same one to the website"))
	case n < 32:
		errs = append(errs, fmt.Errorf("KARMAGATE_LINK_SECRET is %s; use at least 32 (e.g. openssl rand -hex 32)", characters(o.LinkSecret)))
	case o.LinkSecret == c.Secret:
		errs = append(errs, errors.New("KARMAGATE_LINK_SECRET must differ from KARMAGATE_SECRET: the website holds it, and must not hold the master secret"))
	case o.LinkSecret == c.APIKey:
		errs = append(errs, errors.New("KARMAGATE_LINK_SECRET must differ from KARMAGATE_API_KEY"))
	default:
		errs = append(errs, notWeak("KARMAGATE_LINK_SECRET", o.LinkSecret))
	}
	return configProblems(errs...)
}

// checkPublicURL accepts an https:// URL, or plain http:// to a loopback,
// private or single-label host; a query only where query is true; never
// a fragment or user:password@.
func checkPublicURL(name, raw string, query bool) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return fmt.Errorf("%s %q must be an https:// URL", name, raw)
	case u.Fragment != "" || u.User != nil:
		return fmt.Errorf("%s %q must carry no #fragment and no user:password@", name, raw)
	case !query && u.RawQuery != "":
		return fmt.Errorf("%s %q must carry no ?query", name, raw)
	case u.Scheme == "http" && !localHost(u.Hostname()):
		return fmt.Errorf("%s %q: plain http is only for a loopback, private or single-label host; use https://", name, raw)
	}
	return nil
}

// publicBase is where browsers reach karmagate: KARMAGATE_PUBLIC_URL, or
// else the scheme and host of KARMAGATE_WEBHOOK_URL (as the door's
// doorURL); "" when neither is set.
func (c *Config) publicBase() string {
	return strings.TrimSuffix(c.doorURL(), door.Prefix)
}

// loginRedirect is the redirect URL to allow in BotFather for base.
func loginRedirect(base string) string {
	return strings.TrimRight(base, "/") + login.CallbackPath
}
