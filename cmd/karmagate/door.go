package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/karmagate/karmagate/door"
	"github.com/karmagate/karmagate/gate"
)

// doorURL is the Mini App's address the bot shows at a door: app chat's
// join requests: KARMAGATE_PUBLIC_URL, or else the scheme and host of
// KARMAGATE_WEBHOOK_URL, followed by /app/join; "" when neither is set
// (every door then stays silent).
func (c *Config) doorURL() string {
	base := strings.TrimRight(c.PublicURL, "/")
	if base == "" && c.WebhookURL != "" {
		if u, err := url.Parse(c.WebhookURL); err == nil && u.Host != "" {
			base = u.Scheme + "://" + u.Host
		}
	}
	if base == "" {
		return ""
	}
	return base + door.Prefix
}

// validateDoor checks KARMAGATE_PUBLIC_URL (https://, or plain http to a
// loopback, private or single-label host, as Telegram opens Mini Apps only
// over HTTPS) and KARMAGATE_PROFILE_URL (an http(s) page of the website).
func (c *Config) validateDoor() error {
	var errs []error
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			errs = append(errs, fmt.Errorf("KARMAGATE_PUBLIC_URL %q must be an https:// URL, e.g. https://gate.example.org", c.PublicURL))
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			errs = append(errs, errors.New("KARMAGATE_PUBLIC_URL must carry no query, #fragment or user:password@"))
		case u.Scheme == "http" && !localHost(u.Hostname()):
			errs = append(errs, fmt.Errorf("KARMAGATE_PUBLIC_URL %q: Telegram opens Mini Apps only over https://", c.PublicURL))
		}
	}
	if c.ProfileURL != "" {
		if u, err := url.Parse(c.ProfileURL); err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			errs = append(errs, fmt.Errorf("KARMAGATE_PROFILE_URL %q must be an http(s) URL of the website's profile page", c.ProfileURL))
		}
	}
	return errors.Join(errs...)
}

// mountDoor serves the door's Mini App (/app/join) on mux, and says at
// start when a chat asks for door: app that no public URL can show.
func (m *Main) mountDoor(mux *http.ServeMux, rules *gate.Rules) error {
	h, err := door.New(door.Options{BotToken: m.Config.BotToken, Doors: m.Bot, ProfileURL: m.Config.ProfileURL, Now: m.Now, Logger: m.Logger})
	if err != nil {
		return fmt.Errorf("mini app: %w", err)
	}
	mux.Handle(door.Prefix, h)
	mux.Handle(door.Prefix+"/", h)
	if m.Config.doorURL() == "" {
		for _, c := range rules.Chats {
			if c.Door == gate.DoorApp {
				m.Logger.Warn("door: app needs KARMAGATE_PUBLIC_URL (or KARMAGATE_WEBHOOK_URL): the chat's door stays silent", "chat", c.Key)
			}
		}
	}
	return nil
}
