package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/doctor"
	"github.com/karmagate/karmagate/login"
	"github.com/karmagate/karmagate/models"
)

// newLogin builds Log in with Telegram when it is configured (nil
// otherwise): the bot links, the store keeps the logins.
func (m *Main) newLogin(store *models.Store, reg prometheus.Registerer) (*login.Server, error) {
	o := m.Config.OIDC
	if !o.On() {
		return nil, nil
	}
	return login.New(login.Options{
		Store: store, Linker: m.Bot, ClientID: o.ClientID, ClientSecret: o.ClientSecret, Issuer: o.Issuer,
		PublicURL: m.Config.publicBase(), ProfileURL: m.Config.ProfileURL, LinkSecret: []byte(o.LinkSecret), Secret: []byte(m.Config.Secret),
		LinkTTL: m.Config.LinkTTL, Now: m.Now, Logger: m.Logger, Registerer: reg,
	})
}

// loginURLs is the API's signer of login links; nil when the login is off.
func (m *Main) loginURLs() api.LoginURLs {
	if m.Login == nil {
		return nil
	}
	return m.Login
}

// mountLogin serves /auth/telegram and below when the login is on.
func (m *Main) mountLogin(mux *http.ServeMux) {
	if m.Login == nil {
		return
	}
	mux.Handle(login.StartPath, m.Login)
	mux.Handle(login.StartPath+"/", m.Login)
	m.Logger.Info("Log in with Telegram is on", "issuer", m.Login.Issuer(), "redirect_url", m.Login.RedirectURL())
}

// doctorLogin is Log in with Telegram as karmagate doctor checks it; nil
// when it is off.
func doctorLogin(c Config) *doctor.Login {
	if !c.OIDC.On() {
		return nil
	}
	issuer := c.OIDC.Issuer
	if issuer == "" {
		issuer = login.DefaultIssuer
	}
	return &doctor.Login{Issuer: issuer, RedirectURL: loginRedirect(c.publicBase())}
}
