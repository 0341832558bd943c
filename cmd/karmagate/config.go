package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
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
}

// ConfigFromEnv reads the configuration; getenv is os.Getenv outside tests.
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
	if v := getenv("TELEGRAM_API_ID"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("TELEGRAM_API_ID must be the positive number from my.telegram.org, not %q", v))
		}
		c.APIID = n
	}
	switch strings.ToLower(getenv("KARMAGATE_LOG_LEVEL")) {
	case "", "info":
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Errorf("KARMAGATE_LOG_LEVEL must be debug, info, warn or error"))
	}
	switch getenv("KARMAGATE_LOG_FORMAT") {
	case "", "text":
	case "json":
		c.LogJSON = true
	default:
		errs = append(errs, fmt.Errorf("KARMAGATE_LOG_FORMAT must be text or json"))
	}
	return c, errors.Join(errs...)
}

var botTokenPattern = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{30,}$`)

// Validate checks what serve needs, with messages a site owner can act on.
func (c *Config) Validate() error {
	var errs []error
	need := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	need(c.APIKey != "", "KARMAGATE_API_KEY is not set: choose a long random key (e.g. openssl rand -hex 32) and give the same one to the website")
	need(c.APIKey == "" || len(c.APIKey) >= 16, "KARMAGATE_API_KEY is %d characters; use at least 16 (e.g. openssl rand -hex 32)", len(c.APIKey))
	need(c.Secret != "", "KARMAGATE_SECRET is not set: it signs link tokens and encrypts userbot sessions; use openssl rand -hex 32 and keep it safe")
	need(c.Secret == "" || len(c.Secret) >= 32, "KARMAGATE_SECRET is %d characters; use at least 32 (e.g. openssl rand -hex 32)", len(c.Secret))
	need(c.Secret == "" || c.Secret != c.APIKey, "KARMAGATE_SECRET must differ from KARMAGATE_API_KEY: the website must not hold the master secret")
	need(c.BotToken != "", "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and paste its token")
	need(c.BotToken == "" || botTokenPattern.MatchString(c.BotToken), "TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters, as @BotFather gives it)")
	need(c.RulesPath != "", "no rules: create rules.yaml (start from rules.example.yaml) or set KARMAGATE_RULES")
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("KARMAGATE_LISTEN %q is not host:port", c.Listen))
	}
	if u, err := url.Parse(c.BotAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("TELEGRAM_BOT_API_URL %q is not an http(s) URL", c.BotAPIURL))
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		need(err == nil && u.Scheme == "https" && u.Host != "", "KARMAGATE_WEBHOOK_URL must be a public https:// URL (Telegram only posts to HTTPS)")
	}
	need((c.APIID == 0) == (c.APIHash == ""), "set TELEGRAM_API_ID and TELEGRAM_API_HASH together (from my.telegram.org)")
	need((c.DCAddr == "") == (c.ServerKey == ""), "set TELEGRAM_DC_ADDR and TELEGRAM_SERVER_KEY together (karmagate sandbox writes both)")
	if c.DCAddr != "" {
		if _, _, err := net.SplitHostPort(c.DCAddr); err != nil {
			errs = append(errs, fmt.Errorf("TELEGRAM_DC_ADDR %q is not host:port", c.DCAddr))
		}
	}
	need(c.ServerKey == "" || strings.Contains(c.ServerKey, "-----BEGIN"), "TELEGRAM_SERVER_KEY must be a PEM public key (-----BEGIN RSA PUBLIC KEY-----…)")
	return errors.Join(errs...)
}

// Logger builds the process's logger.
func (c *Config) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
