package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	mysqldriver "github.com/go-sql-driver/mysql"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/callback"
	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// Config is everything karmagate reads from its environment. It is built
// once in main and passed down; nothing reads the environment elsewhere.
type Config struct {
	DB         string // KARMAGATE_DB
	Listen     string // KARMAGATE_LISTEN
	APIKey     string // KARMAGATE_API_KEY
	Secret     string // KARMAGATE_SECRET
	RulesPath  string // KARMAGATE_RULES
	BotToken   string // TELEGRAM_BOT_TOKEN
	BotAPIURL  string // TELEGRAM_BOT_API_URL
	WebhookURL string // KARMAGATE_WEBHOOK_URL
	APIID      int    // TELEGRAM_API_ID
	APIHash    string // TELEGRAM_API_HASH
	DCAddr     string // TELEGRAM_DC_ADDR: an MTProto server other than Telegram's (the sandbox)
	ServerKey  string // TELEGRAM_SERVER_KEY: that server's RSA public key, PEM
	LogLevel   slog.Level
	LogJSON    bool
	// Admins are Telegram user ids allowed to /bind, /unbind and /setup
	// without a bind code, /sync, and admin commands about every chat;
	// they are told of every bind and unbind (KARMAGATE_ADMINS, a comma
	// list).
	Admins []int64
	// LinkTTL is how long a deep-link token stays valid (KARMAGATE_LINK_TTL).
	LinkTTL time.Duration
	// LogChat is a private chat the bot administers, for the sendContact
	// phone lookup (KARMAGATE_LOG_CHAT); 0 when unset.
	LogChat int64
	// AdminUsers are per-admin dashboard credentials
	// (KARMAGATE_ADMIN_USERS: "name:bcrypt-hash" entries, comma-separated,
	// as htpasswd -nB prints them).
	AdminUsers []dashboard.User
	// DashboardAPIKey lets the API key sign in to the dashboard
	// (KARMAGATE_DASHBOARD_API_KEY); off by default, so that the website's
	// key is no dashboard admin.
	DashboardAPIKey bool
	// AdminToken is the bearer token of the userbot pool's REST routes
	// (KARMAGATE_ADMIN_TOKEN), which the API key never opens; empty, those
	// routes are off.
	AdminToken string
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client (KARMAGATE_TRUSTED_PROXIES, a comma list of CIDRs).
	TrustedProxies []netip.Prefix
	// Source is the website's own database to pull members from
	// (KARMAGATE_SOURCE: "mysql:DSN"); the query is the rules' source:.
	Source string
	// CallbackURL receives signed callbacks when a member links, joins, is
	// warned or removed (KARMAGATE_CALLBACK_URL); empty: none are sent.
	CallbackURL string
	// CallbackSecret signs them (KARMAGATE_CALLBACK_SECRET).
	CallbackSecret string
	// Failpoint is a crash test's hook (KARMAGATE_FAILPOINT, read only by
	// the test binary: failpointsEnabled): with
	// "kill-after-store" the process kills itself (SIGKILL) right after
	// storing an update, before acknowledging or processing it; with
	// "kill-after-create-channel", right after a userbot account created a
	// group, before anything of it is recorded; with "kill-after-write",
	// right after answering a PUT of a member or a karma change.
	Failpoint string
	// ReconcileEvery is how often a full reconcile pass runs: every
	// member re-planned, every gated chat audited against Telegram by the
	// userbot pool (KARMAGATE_RECONCILE_EVERY).
	ReconcileEvery time.Duration
	// SyncWait bounds how long karmagate sync waits for the userbot
	// accounts and the audits (its --wait flag).
	SyncWait time.Duration
	// DryRun holds every chat's removals until an admin confirms them
	// (KARMAGATE_DRY_RUN); dry_run: true in the rules does it for one chat.
	DryRun bool
	// MetricsToken, when set, is the bearer token /metrics needs
	// (KARMAGATE_METRICS_TOKEN).
	MetricsToken string
	// PublicURL is karmagate's public base URL (KARMAGATE_PUBLIC_URL),
	// where Telegram opens the door's Mini App (/app/join); by default the
	// scheme and host of KARMAGATE_WEBHOOK_URL (door.go).
	PublicURL string
	// ProfileURL is the website's profile page (KARMAGATE_PROFILE_URL),
	// where the Mini App sends a person to link or earn karma, and the bot
	// the people who tap the welcome post's button or are strangers on a
	// clock (bot/welcome.go).
	ProfileURL string
	// Retention says how long events, notifications, settled actions and
	// processed updates are kept (KARMAGATE_RETENTION).
	Retention models.Retention
	// MaxRemovals is the removal breaker of every chat whose rules set no
	// max_removals (KARMAGATE_MAX_REMOVALS: 10%/24h, 25/1h or none); zero
	// is gate.DefaultRemovalCap.
	MaxRemovals gate.RemovalCap
	// PhoneImport lets the userbot accounts look phones up by importing
	// them as contacts (KARMAGATE_PHONE_IMPORT, off by default: Telegram
	// bans accounts that import other people's numbers), at most
	// userbot.DefaultPhoneImportsPerDay per account a day.
	PhoneImport bool
	// OIDC is Log in with Telegram (config_oidc.go).
	OIDC OIDCConfig
}

// ConfigFromEnv reads the configuration; getenv is os.Getenv outside tests.
// Its error lists every variable it could not read; the Config it returns
// holds everything else, so the caller can go on and report the other
// problems too.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		DB:         getenv("KARMAGATE_DB"),
		Listen:     getenv("KARMAGATE_LISTEN"),
		APIKey:     getenv("KARMAGATE_API_KEY"),
		Secret:     getenv("KARMAGATE_SECRET"),
		RulesPath:  getenv("KARMAGATE_RULES"),
		BotToken:   getenv("TELEGRAM_BOT_TOKEN"),
		BotAPIURL:  getenv("TELEGRAM_BOT_API_URL"),
		WebhookURL: getenv("KARMAGATE_WEBHOOK_URL"),
		APIHash:    getenv("TELEGRAM_API_HASH"),
		DCAddr:     getenv("TELEGRAM_DC_ADDR"),
		ServerKey:  getenv("TELEGRAM_SERVER_KEY"),

		AdminToken:     getenv("KARMAGATE_ADMIN_TOKEN"),
		Source:         getenv("KARMAGATE_SOURCE"),
		CallbackURL:    getenv("KARMAGATE_CALLBACK_URL"),
		CallbackSecret: getenv("KARMAGATE_CALLBACK_SECRET"),
		MetricsToken:   getenv("KARMAGATE_METRICS_TOKEN"),
		PublicURL:      getenv("KARMAGATE_PUBLIC_URL"),
		ProfileURL:     getenv("KARMAGATE_PROFILE_URL"),
		OIDC:           readOIDC(getenv),
	}
	if c.DB == "" {
		c.DB = "sqlite:karmagate.db"
	}
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.BotAPIURL == "" {
		c.BotAPIURL = "https://api.telegram.org"
	}
	if c.RulesPath == "" {
		if _, err := os.Stat("rules.yaml"); err == nil {
			c.RulesPath = "rules.yaml"
		}
	}
	var errs []error
	var err error
	if c.Retention, err = models.ParseRetention(getenv("KARMAGATE_RETENTION")); err != nil {
		errs = append(errs, fmt.Errorf("KARMAGATE_RETENTION: %w", err))
	}
	if v := getenv("KARMAGATE_MAX_REMOVALS"); v != "" {
		if c.MaxRemovals, err = gate.ParseRemovalCap(v); err != nil {
			errs = append(errs, fmt.Errorf("KARMAGATE_MAX_REMOVALS: %w (it caps the removals started per chat within a window; the default is %s)", err, gate.DefaultRemovalCap))
		}
	}
	c.LinkTTL = 15 * time.Minute
	if v := getenv("KARMAGATE_LINK_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("KARMAGATE_LINK_TTL %q is not a duration such as 15m or 1h", v))
		case d < time.Minute || d > 7*24*time.Hour:
			errs = append(errs, fmt.Errorf("KARMAGATE_LINK_TTL is %s; use between 1m and 168h (a week)", d))
		default:
			c.LinkTTL = d
		}
	}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"KARMAGATE_DRY_RUN", &c.DryRun}, {"KARMAGATE_DASHBOARD_API_KEY", &c.DashboardAPIKey}, {"KARMAGATE_PHONE_IMPORT", &c.PhoneImport}} {
		v, err := parseBool(b.name, getenv(b.name))
		if err != nil {
			errs = append(errs, err)
		}
		*b.dst = v
	}
	if v := getenv("KARMAGATE_TRUSTED_PROXIES"); v != "" {
		p, err := dashboard.ParseTrustedProxies(v)
		if err != nil {
			errs = append(errs, err)
		}
		c.TrustedProxies = p
	}
	if v := getenv("KARMAGATE_ADMINS"); v != "" {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil || id <= 0 {
				errs = append(errs, fmt.Errorf("KARMAGATE_ADMINS: %q is not a Telegram user id (a positive number; ask @userinfobot for yours)", f))
				continue
			}
			c.Admins = append(c.Admins, id)
		}
	}
	if v := getenv("KARMAGATE_ADMIN_USERS"); v != "" {
		users, err := dashboard.ParseUsers(v)
		if err != nil {
			errs = append(errs, err)
		}
		c.AdminUsers = users
	}
	// Crash tests' hook: read only by the test binary (failpoints_test.go
	// turns it on), never by the karmagate a site owner runs.
	if failpointsEnabled {
		switch c.Failpoint = getenv("KARMAGATE_FAILPOINT"); c.Failpoint {
		case "", "kill-after-store", "kill-after-create-channel", "kill-after-write":
		default:
			errs = append(errs, fmt.Errorf("KARMAGATE_FAILPOINT %q is unknown (it is for crash tests: kill-after-store, kill-after-create-channel, kill-after-write)", c.Failpoint))
		}
	}
	c.ReconcileEvery = 6 * time.Hour
	if v := getenv("KARMAGATE_RECONCILE_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("KARMAGATE_RECONCILE_EVERY %q is not a duration such as 6h or 30m", v))
		case d < time.Minute:
			errs = append(errs, fmt.Errorf("KARMAGATE_RECONCILE_EVERY is %s; use 1m or more", d))
		default:
			c.ReconcileEvery = d
		}
	}
	if v := getenv("KARMAGATE_LOG_CHAT"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id >= 0 {
			errs = append(errs, fmt.Errorf("KARMAGATE_LOG_CHAT %q is not a group's Bot API id (a negative number such as -1001234567890)", v))
		} else {
			c.LogChat = id
		}
	}
	if v := getenv("TELEGRAM_API_ID"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("TELEGRAM_API_ID must be the positive number from my.telegram.org, not %q", v))
		}
		c.APIID = n
	}
	switch v := getenv("KARMAGATE_LOG_LEVEL"); strings.ToLower(v) {
	case "", "info":
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Errorf("KARMAGATE_LOG_LEVEL must be debug, info, warn or error, not %q", v))
	}
	switch v := getenv("KARMAGATE_LOG_FORMAT"); v {
	case "", "text":
	case "json":
		c.LogJSON = true
	default:
		errs = append(errs, fmt.Errorf("KARMAGATE_LOG_FORMAT must be text or json, not %q", v))
	}
	return c, configProblems(errs...)
}

// parseBool reads a true/false variable: true, 1, yes, on or false, 0, no,
// off (any case); empty is false.
func parseBool(name, v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on":
		return true, nil
	case "", "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s %q is not true or false", name, v)
}

var botTokenPattern = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{30,}$`)

// Validate checks everything serve needs, with messages a site owner can
// act on, and returns every problem at once: the variables, the database
// spec (ValidateDB) and the rules file (ValidateRules).
func (c *Config) Validate() error {
	var errs []error
	need := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	need(c.APIKey != "", "KARMAGATE_API_KEY is not set: choose a long random key (e.g. openssl rand -hex 32) and give the same one to the website")
	need(c.APIKey == "" || utf8.RuneCountInString(c.APIKey) >= 16, "KARMAGATE_API_KEY is %s; use at least 16 (e.g. openssl rand -hex 32)", characters(c.APIKey))
	need(c.Secret != "", "KARMAGATE_SECRET is not set: it signs link tokens and encrypts userbot sessions; use openssl rand -hex 32 and keep it safe")
	need(c.Secret == "" || utf8.RuneCountInString(c.Secret) >= 32, "KARMAGATE_SECRET is %s; use at least 32 (e.g. openssl rand -hex 32)", characters(c.Secret))
	need(c.Secret == "" || c.Secret != c.APIKey, "KARMAGATE_SECRET must differ from KARMAGATE_API_KEY: the website must not hold the master secret")
	need(c.AdminToken == "" || utf8.RuneCountInString(c.AdminToken) >= 16, "KARMAGATE_ADMIN_TOKEN is %s; use at least 16 (e.g. openssl rand -hex 32)", characters(c.AdminToken))
	need(c.AdminToken == "" || c.AdminToken != c.APIKey, "KARMAGATE_ADMIN_TOKEN must differ from KARMAGATE_API_KEY: the website holds the API key, and must not administer the userbot pool")
	need(c.AdminToken == "" || c.AdminToken != c.Secret, "KARMAGATE_ADMIN_TOKEN must differ from KARMAGATE_SECRET: whoever holds the token must not hold the master secret")
	// Weakness is judged once the length is right: one problem a value.
	if utf8.RuneCountInString(c.APIKey) >= 16 {
		errs = append(errs, notWeak("KARMAGATE_API_KEY", c.APIKey))
	}
	if utf8.RuneCountInString(c.Secret) >= 32 {
		errs = append(errs, notWeak("KARMAGATE_SECRET", c.Secret))
	}
	if utf8.RuneCountInString(c.AdminToken) >= 16 {
		errs = append(errs, notWeak("KARMAGATE_ADMIN_TOKEN", c.AdminToken))
	}
	errs = append(errs, c.validateMetricsToken())
	need(c.BotToken != "", "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and paste its token")
	need(c.BotToken == "" || botTokenPattern.MatchString(c.BotToken), "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters, as @BotFather gives it)")
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("KARMAGATE_LISTEN %q is not host:port", c.Listen))
	}
	if u, err := url.Parse(c.BotAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("TELEGRAM_BOT_API_URL %q is not an http(s) URL", c.BotAPIURL))
	}
	if c.WebhookURL != "" {
		errs = append(errs, checkWebhookURL(c.WebhookURL))
	}
	need((c.APIID == 0) == (c.APIHash == ""), "set TELEGRAM_API_ID and TELEGRAM_API_HASH together (from my.telegram.org)")
	need(!c.PhoneImport || c.APIID != 0, "KARMAGATE_PHONE_IMPORT=true needs the userbot pool: set TELEGRAM_API_ID and TELEGRAM_API_HASH, or leave phone imports off")
	need((c.DCAddr == "") == (c.ServerKey == ""), "set TELEGRAM_DC_ADDR and TELEGRAM_SERVER_KEY together (karmagate sandbox writes both)")
	if c.DCAddr != "" {
		if _, _, err := net.SplitHostPort(c.DCAddr); err != nil {
			errs = append(errs, fmt.Errorf("TELEGRAM_DC_ADDR %q is not host:port", c.DCAddr))
		}
	}
	need(c.ServerKey == "" || strings.Contains(c.ServerKey, "-----BEGIN"), "TELEGRAM_SERVER_KEY must be a PEM public key (-----BEGIN RSA PUBLIC KEY-----…)")
	errs = append(errs, c.ValidateDB(), c.ValidateRules(), c.ValidateSource(), c.validateCallbacks(), c.validateDoor(), c.validateOIDC())
	return configProblems(errs...)
}

// ValidateSource checks KARMAGATE_SOURCE without connecting: a mysql: DSN
// that parses and names a database, and a source: section in the rules to
// go with it (and none without it).
func (c *Config) ValidateSource() error {
	var rulesSource bool
	if c.RulesPath != "" {
		if r, err := gate.LoadRules(c.RulesPath); err == nil {
			rulesSource = r.Source != nil
		} else {
			return nil // ValidateRules reports it
		}
	}
	if c.Source == "" {
		if rulesSource {
			return fmt.Errorf("the rules file %s has a source: section but KARMAGATE_SOURCE is not set: set it to mysql:user:password@tcp(host:3306)/website (a read-only user), or take out the source: section", c.RulesPath)
		}
		return nil
	}
	kind, rest, _ := strings.Cut(c.Source, ":")
	if kind != "mysql" || rest == "" {
		// Only the kind is echoed: the rest may hold a password.
		return fmt.Errorf("KARMAGATE_SOURCE must be mysql:DSN, the website's MySQL or MariaDB database (e.g. mysql:karmagate_ro:password@tcp(127.0.0.1:3306)/website), not %q…", kind)
	}
	dsn, err := mysqldriver.ParseDSN(rest)
	if err != nil {
		return fmt.Errorf("KARMAGATE_SOURCE: the MySQL DSN is malformed (%w); write it as mysql:user:password@tcp(host:3306)/website", err)
	}
	if dsn.DBName == "" {
		return errors.New("KARMAGATE_SOURCE: the MySQL DSN names no database; end it with /website (your site's database)")
	}
	if c.RulesPath != "" && !rulesSource {
		return fmt.Errorf("KARMAGATE_SOURCE is set but the rules file %s has no source: section: add one with the query that returns id, karma and groups", c.RulesPath)
	}
	return nil
}

// validateCallbacks checks KARMAGATE_CALLBACK_URL and
// KARMAGATE_CALLBACK_SECRET: set together, an https:// URL (or plain http
// to a loopback, private or single-label host), a secret of at least 32
// characters that is not the master secret.
func (c *Config) validateCallbacks() error {
	switch {
	case c.CallbackURL == "" && c.CallbackSecret == "":
		return nil
	case c.CallbackURL == "":
		return errors.New("KARMAGATE_CALLBACK_SECRET is set but KARMAGATE_CALLBACK_URL is not: set the website's URL that receives callbacks, or unset the secret")
	}
	var errs []error
	u, err := url.Parse(c.CallbackURL)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		errs = append(errs, fmt.Errorf("KARMAGATE_CALLBACK_URL %q must be an https:// URL, e.g. https://example.org/karmagate/callback", c.CallbackURL))
	case u.Fragment != "" || u.User != nil:
		errs = append(errs, errors.New("KARMAGATE_CALLBACK_URL must carry no #fragment and no user:password@ (the signature authenticates karmagate)"))
	case u.Scheme == "http" && !localHost(u.Hostname()):
		errs = append(errs, fmt.Errorf("KARMAGATE_CALLBACK_URL %q: plain http is only for a loopback, private or single-label host; use https://", c.CallbackURL))
	}
	switch n := utf8.RuneCountInString(c.CallbackSecret); {
	case n == 0:
		errs = append(errs, errors.New("KARMAGATE_CALLBACK_SECRET is not set: callbacks are signed with it; use openssl rand -hex 32 and give the same one to the website"))
	case n < callback.MinSecret:
		errs = append(errs, fmt.Errorf("KARMAGATE_CALLBACK_SECRET is %s; use at least %d (e.g. openssl rand -hex 32)", characters(c.CallbackSecret), callback.MinSecret))
	case c.CallbackSecret == c.Secret:
		errs = append(errs, errors.New("KARMAGATE_CALLBACK_SECRET must differ from KARMAGATE_SECRET: the website holds it, and must not hold the master secret"))
	default:
		errs = append(errs, notWeak("KARMAGATE_CALLBACK_SECRET", c.CallbackSecret))
	}
	return configProblems(errs...)
}

// localHost reports whether host is a loopback or private address or a
// single-label name (localhost, a compose service), where plain http stays
// on the operator's own network.
func localHost(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback() || ip.IsPrivate()
	}
	return host == "localhost" || !strings.Contains(host, ".")
}

// checkWebhookURL accepts an https:// URL, or plain http:// to a loopback,
// private or single-label host (the sandbox, a compose service behind
// nginx), where Telegram's own servers never post but a local Bot API
// server does.
func checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("KARMAGATE_WEBHOOK_URL %q must be an https:// URL (Telegram only posts to HTTPS)", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("KARMAGATE_WEBHOOK_URL must not carry a query or fragment: karmagate serves it by its path")
	}
	switch u.Path {
	case "", "/", "/healthz", "/metrics", "/api", "/admin":
		return fmt.Errorf("KARMAGATE_WEBHOOK_URL needs a path of its own, e.g. https://example.org/telegram/webhook (not %q)", u.Path)
	}
	if strings.HasPrefix(u.Path, "/api/") || strings.HasPrefix(u.Path, "/admin/") {
		return fmt.Errorf("KARMAGATE_WEBHOOK_URL's path %q is taken by the API or the dashboard; use e.g. /telegram/webhook", u.Path)
	}
	if u.Scheme == "https" {
		return nil
	}
	if localHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("KARMAGATE_WEBHOOK_URL %q: plain http is only for a loopback, private or single-label host; Telegram posts only to https://", raw)
}

// ConfigError lists every problem found in a configuration, so that a site
// owner can fix them all in one go.
type ConfigError struct {
	Problems []error
}

// Error names the one problem, or counts them and lists each on its own line.
func (e *ConfigError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems in the configuration:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(strings.ReplaceAll(p.Error(), "\n", "\n    "))
	}
	return b.String()
}

// Unwrap gives the problems to errors.Is and errors.As.
func (e *ConfigError) Unwrap() []error { return e.Problems }

// configProblems gathers errs into one ConfigError, dropping nils and
// flattening joined errors and other ConfigErrors; nil when there are none.
func configProblems(errs ...error) error {
	var list []error
	var add func(error)
	add = func(err error) {
		switch e := err.(type) {
		case nil:
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				add(inner)
			}
		default:
			list = append(list, err)
		}
	}
	for _, err := range errs {
		add(err)
	}
	if len(list) == 0 {
		return nil
	}
	return &ConfigError{Problems: list}
}

// characters says how long s is: "1 character", "5 characters".
func characters(s string) string {
	if n := utf8.RuneCountInString(s); n != 1 {
		return fmt.Sprintf("%d characters", n)
	}
	return "1 character"
}

// ValidateDB checks the database spec without opening the database: its
// kind, a MySQL DSN's syntax, and that an SQLite file's folder exists.
func (c *Config) ValidateDB() error {
	kind, rest, ok := strings.Cut(c.DB, ":")
	if !ok || rest == "" {
		return fmt.Errorf("KARMAGATE_DB %q: want sqlite:PATH or mysql:DSN", c.DB)
	}
	switch kind {
	case "sqlite":
		return checkSQLitePath(rest)
	case "mysql":
		// The DSN is not echoed: it may hold a password.
		dsn, err := mysqldriver.ParseDSN(rest)
		if err != nil {
			return fmt.Errorf("KARMAGATE_DB: the MySQL DSN is malformed (%w); write it as mysql:user:password@tcp(host:3306)/karmagate", err)
		}
		if dsn.DBName == "" {
			return errors.New("KARMAGATE_DB: the MySQL DSN names no database; end it with /karmagate (or your database's name)")
		}
		return nil
	default:
		// Only the kind is echoed: the rest may hold a password.
		return fmt.Errorf("KARMAGATE_DB: unknown kind %q, want sqlite:PATH or mysql:DSN", kind)
	}
}

// checkSQLitePath checks that the folder an SQLite file goes in exists, and
// that the path is not itself a folder.
func checkSQLitePath(dsn string) error {
	path, query, _ := strings.Cut(dsn, "?")
	path = strings.TrimPrefix(path, "file:")
	if path == "" || path == ":memory:" || strings.Contains(query, "mode=memory") {
		return nil
	}
	dir := filepath.Dir(path)
	switch st, err := os.Stat(dir); {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("KARMAGATE_DB: the folder %s for the SQLite file does not exist; create it or choose another path", dir)
	case err != nil:
		return fmt.Errorf("KARMAGATE_DB: the folder %s for the SQLite file: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("KARMAGATE_DB: %s, where the SQLite file would go, is not a folder", dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("KARMAGATE_DB: %s is a folder; name the SQLite file inside it (e.g. %s)", path, filepath.Join(path, "karmagate.db"))
	}
	return nil
}

// ValidateSecret checks KARMAGATE_SECRET, which the userbot commands need
// to seal and open sessions.
func (c *Config) ValidateSecret() error {
	switch {
	case c.Secret == "":
		return errors.New("KARMAGATE_SECRET is not set: it encrypts userbot sessions; use the one serve runs with")
	case utf8.RuneCountInString(c.Secret) < 32:
		return fmt.Errorf("KARMAGATE_SECRET is %s; use at least 32 (e.g. openssl rand -hex 32)", characters(c.Secret))
	}
	return notWeak("KARMAGATE_SECRET", c.Secret)
}

// minDistinct is how many different characters a key or secret must use at
// least: sixteen a's are long enough but guessable.
const minDistinct = 8

// weakSecret reports whether s is plainly weak: fewer than minDistinct
// distinct characters (a repeated letter, "abab…", "00000…"). Length is
// checked apart, with a message of its own.
func weakSecret(s string) bool {
	seen := map[rune]bool{}
	for _, r := range s {
		seen[r] = true
		if len(seen) >= minDistinct {
			return false
		}
	}
	return true
}

// notWeak refuses a key or secret named name that is set and plainly weak,
// saying how to make a good one.
func notWeak(name, value string) error {
	if value == "" || !weakSecret(value) {
		return nil
	}
	return fmt.Errorf("%s is too weak: it uses fewer than %d different characters; make a random one with openssl rand -hex 32", name, minDistinct)
}

// validateMetricsToken checks KARMAGATE_METRICS_TOKEN when it is set: long
// enough, not weak, not the website's API key.
func (c *Config) validateMetricsToken() error {
	switch {
	case c.MetricsToken == "":
		return nil
	case utf8.RuneCountInString(c.MetricsToken) < 16:
		return fmt.Errorf("KARMAGATE_METRICS_TOKEN is %s; use at least 16 (e.g. openssl rand -hex 32)", characters(c.MetricsToken))
	case c.MetricsToken == c.APIKey:
		return errors.New("KARMAGATE_METRICS_TOKEN must differ from KARMAGATE_API_KEY: a scraper must not hold the website's key (make one with openssl rand -hex 32)")
	}
	return notWeak("KARMAGATE_METRICS_TOKEN", c.MetricsToken)
}

// ValidateTelegram checks what talking to Telegram as a user takes:
// TELEGRAM_API_ID and TELEGRAM_API_HASH, and TELEGRAM_DC_ADDR with
// TELEGRAM_SERVER_KEY when one is set.
func (c *Config) ValidateTelegram() error {
	var errs []error
	if c.APIID == 0 || c.APIHash == "" {
		errs = append(errs, errors.New("set TELEGRAM_API_ID and TELEGRAM_API_HASH (from my.telegram.org, or the sandbox's env file)"))
	}
	if (c.DCAddr == "") != (c.ServerKey == "") {
		errs = append(errs, errors.New("set TELEGRAM_DC_ADDR and TELEGRAM_SERVER_KEY together (karmagate sandbox writes both)"))
	}
	return configProblems(errs...)
}

// ValidateRules checks that there is a rules file, that it parses, and
// that its messages are templates the bot can render.
func (c *Config) ValidateRules() error {
	if c.RulesPath == "" {
		return errors.New("no rules: create rules.yaml (start from rules.example.yaml) or set KARMAGATE_RULES")
	}
	r, err := gate.LoadRules(c.RulesPath)
	if err != nil {
		return err
	}
	// The messages: as the bot will render them, before anything is
	// opened: a bad template is a mistake in the file, with its line.
	return bot.CheckMessages(r)
}

// Logger builds the process's logger.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// failpointsEnabled lets KARMAGATE_FAILPOINT be read: only in the test
// binary, which the end-to-end tests run as karmagate (failpoints_test.go).
var failpointsEnabled = false
