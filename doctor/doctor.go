package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// ErrTokenRefused is what a Bot answers when Telegram refuses the token
// (401 Unauthorized, 404 Not Found): the one getMe failure that is the
// configuration's.
var ErrTokenRefused = errors.New("the Bot API refused the token")

// Me is the bot as getMe describes it.
type Me struct {
	ID       int64
	Username string
	// CanReadAllGroupMessages is true when privacy mode is off.
	CanReadAllGroupMessages bool
}

// WebhookInfo is what getWebhookInfo says.
type WebhookInfo struct {
	URL                string
	PendingUpdateCount int
	LastErrorDate      time.Time // zero: no error
	LastErrorMessage   string
}

// Rights are the bot's status and rights in a chat (getChatMember).
type Rights struct {
	Status             string // creator, administrator, member, restricted, left, kicked
	CanInviteUsers     bool
	CanRestrictMembers bool
	CanManageTags      bool
}

// Bot is what the checks ask the Bot API.
type Bot interface {
	// GetMe returns the bot, or an error wrapping ErrTokenRefused, and
	// the Bot API's clock (its Date header; zero when it sent none).
	GetMe(ctx context.Context) (Me, time.Time, error)
	WebhookInfo(ctx context.Context) (WebhookInfo, error)
	// Rights is the bot's membership in a chat (Bot API id).
	Rights(ctx context.Context, chatID, botID int64) (Rights, error)
}

// Chat is a chat of the rules file, bound to a Telegram chat or not yet.
type Chat struct {
	Key      string
	Title    string
	TgChatID int64 // 0: not bound yet
	Tags     bool  // the rules set member tags (tag:)
}

// Userbot is an account of the userbot pool as the store records it.
type Userbot struct {
	ID         int64
	Phone      string // as stored; Run masks it
	State      string // ready, unauthorized, restricted, frozen, deactivated, code_sent, password_needed
	LastError  string
	PeerFlood  bool
	Channels   int
	ChannelCap int
}

// Store is what the checks ask karmagate's database.
type Store interface {
	// CheckSchema says whether the database is reachable and migrated to
	// this build's schema.
	CheckSchema(ctx context.Context) error
	Chats(ctx context.Context) ([]Chat, error)
	Userbots(ctx context.Context) ([]Userbot, error)
}

// Options configures Run. Bot and Store are required: a store that cannot
// be opened answers CheckSchema with why.
type Options struct {
	Bot   Bot
	Store Store
	// Config is serve's configuration check (Config.Validate): nil when
	// serve would start.
	Config error
	// BotAPIURL names the Bot API in messages.
	BotAPIURL string
	// WebhookURL is KARMAGATE_WEBHOOK_URL; empty: long polling.
	WebhookURL string
	// TrustedProxies is how many CIDRs KARMAGATE_TRUSTED_PROXIES names.
	TrustedProxies int
	// Userbots is true when TELEGRAM_API_ID is set (the pool runs).
	Userbots bool
	// Login is Log in with Telegram; nil when it is off.
	Login *Login
	// HTTPClient fetches the webhook URL to check its TLS; a client with
	// a 10 s timeout by default.
	HTTPClient *http.Client
	// MaxSkew is the clock difference with Telegram that fails; 30 s by
	// default (a tenth of it warns).
	MaxSkew time.Duration
	Now     func() time.Time
}

func (o *Options) setDefaults() {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.BotAPIURL == "" {
		o.BotAPIURL = "https://api.telegram.org"
	}
}

// Run runs every check and returns the report.
func Run(ctx context.Context, opts Options) Report {
	opts.setDefaults()
	var r Report
	add := func(s Status, name, detail, fix string) { r = append(r, Result{s, name, detail, fix}) }

	if opts.Config != nil {
		add(Fail, "configuration", opts.Config.Error(), "set the variables above (README: Configuration) and run karmagate doctor again")
	} else {
		add(OK, "configuration", "every variable serve needs is set and valid", "")
	}

	// Telegram: the token first; what needs the bot waits for it.
	me, date, err := opts.Bot.GetMe(ctx)
	asked := opts.Now()
	botOK := err == nil
	switch {
	case err == nil:
		add(OK, "bot token", fmt.Sprintf("Telegram knows the bot: @%s (id %d)", me.Username, me.ID), "")
	case errors.Is(err, ErrTokenRefused):
		add(Fail, "bot token", "Telegram refused TELEGRAM_BOT_TOKEN ("+err.Error()+")",
			"copy the token again from @BotFather (/mybots → your bot → API Token) into TELEGRAM_BOT_TOKEN")
	default:
		add(Fail, "bot token", "the Bot API at "+opts.BotAPIURL+" cannot be reached: "+err.Error(),
			"check TELEGRAM_BOT_API_URL, DNS and that this host may open HTTPS connections out")
	}
	if botOK {
		r = append(r, privacy(me), clock(date, asked, opts.MaxSkew))
		r = append(r, webhook(ctx, opts)...)
	} else {
		add(Skip, "telegram", "privacy mode, clock, webhook not checked: the bot token check failed", "")
	}
	if res, ok := tlsInFront(ctx, opts); ok {
		r = append(r, res)
	}
	r = append(r, proxies(opts))
	if opts.Login != nil {
		r = append(r, login(ctx, opts))
	}

	// The database, then what it records.
	if err := opts.Store.CheckSchema(ctx); err != nil {
		add(Fail, "database", err.Error(),
			"check KARMAGATE_DB and that the database server runs and lets this host in; a schema behind: karmagate migrate")
		add(Skip, "chats", "not checked: the database failed", "")
		if opts.Userbots {
			add(Skip, "userbots", "not checked: the database failed", "")
		}
		return r
	}
	add(OK, "database", "reachable and migrated", "")
	r = append(r, chats(ctx, opts, me, botOK)...)
	r = append(r, userbots(ctx, opts)...)
	return r
}

// privacy reads privacy mode off getMe.
func privacy(me Me) Result {
	if me.CanReadAllGroupMessages {
		return Result{Warn, "privacy mode", "off: the bot receives every message of its groups, which karmagate does not need",
			"turn it on with @BotFather: /setprivacy → your bot → Enable"}
	}
	return Result{OK, "privacy mode", "on: the bot sees commands and membership changes only (all karmagate needs)", ""}
}

// clock compares this host's clock with the Bot API's Date header.
func clock(date, asked time.Time, maxSkew time.Duration) Result {
	if date.IsZero() {
		return Result{Warn, "clock", "the Bot API sent no Date header to compare with", "keep the host's clock synchronised (chrony, systemd-timesyncd)"}
	}
	// Date has whole seconds: a second of difference is rounding.
	skew := asked.Sub(date).Truncate(time.Second)
	abs := max(skew, -skew)
	switch {
	case abs >= maxSkew:
		return Result{Fail, "clock", fmt.Sprintf("this host's clock is %s off Telegram's", skew),
			"synchronise the clock (timedatectl set-ntp true, or chrony): link tokens, grace periods and logins depend on it"}
	case abs >= maxSkew/10 && abs > time.Second:
		return Result{Warn, "clock", fmt.Sprintf("this host's clock is %s off Telegram's", skew), "synchronise the clock (timedatectl set-ntp true)"}
	}
	return Result{OK, "clock", "in step with Telegram's", ""}
}

// webhook compares Telegram's webhook with KARMAGATE_WEBHOOK_URL.
func webhook(ctx context.Context, opts Options) []Result {
	info, err := opts.Bot.WebhookInfo(ctx)
	if err != nil {
		return []Result{{Fail, "webhook", "getWebhookInfo failed: " + err.Error(), "check that the Bot API can be reached and try again"}}
	}
	if opts.WebhookURL == "" {
		if info.URL != "" {
			return []Result{{Warn, "webhook", "long polling configured, but Telegram delivers to " + info.URL,
				"serve removes that webhook when it starts; if another program uses this bot, give karmagate a bot of its own"}}
		}
		return []Result{{OK, "webhook", "none: serve polls Telegram for updates (long polling)", ""}}
	}
	var out []Result
	switch {
	case info.URL == "":
		out = append(out, Result{Warn, "webhook", "not set at Telegram yet", "karmagate serve sets it to KARMAGATE_WEBHOOK_URL when it starts; run karmagate doctor again after"})
	case info.URL != opts.WebhookURL:
		out = append(out, Result{Fail, "webhook", "Telegram delivers to " + info.URL + ", not to KARMAGATE_WEBHOOK_URL " + opts.WebhookURL,
			"restart karmagate serve so that it sets the webhook; if another program uses this bot, give karmagate a bot of its own"})
	case info.LastErrorMessage != "" && opts.Now().Sub(info.LastErrorDate) < 24*time.Hour:
		out = append(out, Result{Fail, "webhook", fmt.Sprintf("Telegram could not deliver to %s (%s, %s ago; %d updates waiting)",
			info.URL, info.LastErrorMessage, opts.Now().Sub(info.LastErrorDate).Truncate(time.Second), info.PendingUpdateCount),
			"make the URL reachable from the internet over HTTPS on port 443, 80, 88 or 8443 (nginx in front: deploy/nginx.conf), with a certificate Telegram trusts"})
	default:
		out = append(out, Result{OK, "webhook", fmt.Sprintf("Telegram delivers to %s without errors (%d updates waiting)", info.URL, info.PendingUpdateCount), ""})
	}
	return out
}

// tlsInFront checks that the webhook URL is HTTPS with a certificate this
// host trusts (nginx in front); no result without a webhook.
func tlsInFront(ctx context.Context, opts Options) (Result, bool) {
	if opts.WebhookURL == "" {
		return Result{}, false
	}
	u, err := url.Parse(opts.WebhookURL)
	if err != nil {
		return Result{Fail, "TLS", "KARMAGATE_WEBHOOK_URL does not parse: " + err.Error(), "set it to https://your.domain/telegram/webhook"}, true
	}
	if u.Scheme != "https" {
		return Result{Fail, "TLS", "KARMAGATE_WEBHOOK_URL is " + u.Scheme + ", and Telegram delivers to HTTPS only",
			"put nginx with TLS in front (deploy/nginx.conf, a Let's Encrypt certificate) and use https://"}, true
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, opts.WebhookURL, nil)
	if err != nil {
		return Result{Fail, "TLS", err.Error(), "set KARMAGATE_WEBHOOK_URL to https://your.domain/telegram/webhook"}, true
	}
	res, err := opts.HTTPClient.Do(req)
	if err != nil {
		var cert *tls.CertificateVerificationError
		if errors.As(err, &cert) {
			return Result{Fail, "TLS", "the certificate of " + u.Host + " is not trusted: " + cert.Err.Error(),
				"give nginx a certificate from a public CA (certbot, or deploy/acme) for " + u.Hostname()}, true
		}
		return Result{Fail, "TLS", u.Host + " cannot be reached over HTTPS: " + err.Error(),
			"start nginx (deploy/nginx.conf) and open port " + port(u) + " to the internet"}, true
	}
	res.Body.Close()
	// karmagate answers a GET on its webhook with 405; nginx passing it
	// on shows that it is in front.
	if res.StatusCode != http.StatusMethodNotAllowed {
		return Result{Warn, "TLS", fmt.Sprintf("https://%s answers with a trusted certificate, but GET %s gave %d, not karmagate's 405", u.Host, u.Path, res.StatusCode),
			"check that nginx passes " + u.Path + " to karmagate (proxy_pass, deploy/nginx.conf)"}, true
	}
	return Result{OK, "TLS", "https://" + u.Host + " has a trusted certificate and passes " + u.Path + " to karmagate", ""}, true
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return "443"
}

// proxies checks that, behind nginx, karmagate knows whom to believe
// about a client's address.
func proxies(opts Options) Result {
	if opts.TrustedProxies > 0 {
		return Result{OK, "proxy", fmt.Sprintf("X-Forwarded-For is believed from %d trusted proxy range(s) (KARMAGATE_TRUSTED_PROXIES)", opts.TrustedProxies), ""}
	}
	if opts.WebhookURL != "" {
		return Result{Warn, "proxy", "behind nginx, but KARMAGATE_TRUSTED_PROXIES is empty: every visitor seems to come from nginx's address, so one sign-in lockout locks everyone out",
			"set KARMAGATE_TRUSTED_PROXIES to nginx's address (127.0.0.1/32, or the compose network's CIDR)"}
	}
	return Result{OK, "proxy", "no trusted proxies: clients' own addresses are used", ""}
}
