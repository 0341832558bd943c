package main

import (
	"fmt"
	"net/url"
)

// profileURL reads KARMAGATE_PROFILE_URL: the members' profile page on the
// website, where they link their Telegram. The bot names it to people who
// open it from the welcome post and to strangers on a clock. Optional; an
// https:// URL (plain http only to a loopback, private or single-label
// host), with no user:password@, at most 512 characters.
func profileURL(getenv func(string) string) (string, error) {
	v := getenv("KARMAGATE_PROFILE_URL")
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	switch {
	case len(v) > 512:
		return "", fmt.Errorf("KARMAGATE_PROFILE_URL is %d characters; at most 512", len(v))
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return "", fmt.Errorf("KARMAGATE_PROFILE_URL %q must be an https:// URL, e.g. https://example.org/profile", v)
	case u.User != nil:
		return "", fmt.Errorf("KARMAGATE_PROFILE_URL must carry no user:password@ (the bot shows it to people)")
	case u.Scheme == "http" && !localHost(u.Hostname()):
		return "", fmt.Errorf("KARMAGATE_PROFILE_URL %q: plain http is only for a loopback, private or single-label host; use https://", v)
	}
	return v, nil
}
