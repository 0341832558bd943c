package main

import (
	"strings"
	"testing"
)

// TestConfig_OIDC: Log in with Telegram's variables are all or nothing,
// with messages that say what to set.
func TestConfig_OIDC(t *testing.T) {
	const linkSecret = "7f3a9c1e5b2d8f4a6c0e9b1d3f5a7c9e"
	base := func() Config {
		return Config{APIKey: "an-api-key-0123456789abcdef", Secret: "a-master-secret-0123456789abcdefghij",
			BotToken:  "123456:AAbcdefghijklmnopqrstuvwxyz0123456789",
			PublicURL: "https://karmagate.example.org", ProfileURL: "https://site.example/profile.php?tab=tg",
			OIDC: OIDCConfig{ClientID: "123456", ClientSecret: "s3cr3t", LinkSecret: linkSecret}}
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{name: "all set"},
		{name: "off", edit: func(c *Config) { c.OIDC = OIDCConfig{} }},
		{name: "public URL from the webhook's", edit: func(c *Config) { c.PublicURL, c.WebhookURL = "", "https://k.example/telegram/webhook" }},
		{name: "the sandbox's issuer on loopback", edit: func(c *Config) { c.OIDC.Issuer = "http://127.0.0.1:8081" }},
		{name: "secret without id", edit: func(c *Config) { c.OIDC.ClientID = "" }, want: "TELEGRAM_OIDC_CLIENT_SECRET is set but TELEGRAM_OIDC_CLIENT_ID is not"},
		{name: "id without secret", edit: func(c *Config) { c.OIDC.ClientSecret = "" }, want: "TELEGRAM_OIDC_CLIENT_SECRET is not"},
		{name: "link secret alone", edit: func(c *Config) { c.OIDC = OIDCConfig{LinkSecret: linkSecret} }, want: "KARMAGATE_LINK_SECRET is set but Log in with Telegram is off"},
		{name: "issuer alone", edit: func(c *Config) { c.OIDC = OIDCConfig{Issuer: "https://oauth.telegram.org"} }, want: "TELEGRAM_OIDC_ISSUER is set"},
		{name: "id not a number", edit: func(c *Config) { c.OIDC.ClientID = "mybot" }, want: "is not a bot id"},
		{name: "no public URL", edit: func(c *Config) { c.PublicURL = "" }, want: "KARMAGATE_PUBLIC_URL is not set"},
		{name: "profile URL with a fragment", edit: func(c *Config) { c.ProfileURL = "https://s.example/p#tg" }, want: "no #fragment"},
		{name: "no link secret", edit: func(c *Config) { c.OIDC.LinkSecret = "" }, want: "KARMAGATE_LINK_SECRET is not set"},
		{name: "short link secret", edit: func(c *Config) { c.OIDC.LinkSecret = "short" }, want: "KARMAGATE_LINK_SECRET is 5 characters"},
		{name: "link secret is the master secret", edit: func(c *Config) { c.OIDC.LinkSecret = c.Secret }, want: "must differ from KARMAGATE_SECRET"},
		{name: "weak link secret", edit: func(c *Config) { c.OIDC.LinkSecret = strings.Repeat("ab", 20) }, want: "too weak"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			if tt.edit != nil {
				tt.edit(&c)
			}
			err := c.validateOIDC()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	c, err := ConfigFromEnv(mapEnv("TELEGRAM_OIDC_CLIENT_ID", "1", "TELEGRAM_OIDC_CLIENT_SECRET", "s", "TELEGRAM_OIDC_ISSUER", "i",
		"KARMAGATE_LINK_SECRET", "l"))
	if err != nil || c.OIDC != (OIDCConfig{ClientID: "1", ClientSecret: "s", Issuer: "i", LinkSecret: "l"}) {
		t.Errorf("read %+v %v", c.OIDC, err)
	}
	if c := base(); c.publicBase() != "https://karmagate.example.org" || loginRedirect(c.publicBase()) != "https://karmagate.example.org/auth/telegram/callback" {
		t.Errorf("redirect URL %q", loginRedirect(c.publicBase()))
	}
}
