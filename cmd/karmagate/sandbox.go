package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/karmagate/karmagate/sandbox"
)

// runSandbox is `karmagate sandbox`: it serves the embedded Telegram (Bot
// API and control API on --listen, MTProto on --mtproto) until ctx is
// cancelled, and writes to --env-file the variables that run
// `karmagate serve` against it.
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// A word in backquotes in a usage text names the flag's argument in -h.
	listen := fs.String("listen", "127.0.0.1:8081", "`ADDR` (host:port) of the Bot API and the control API (/sandbox/)")
	mt := fs.String("mtproto", "127.0.0.1:8443", "`ADDR` (host:port) of the MTProto server")
	seed := fs.Int64("seed", 1, "`N` seeds ids, tokens, codes and faults")
	envFile := fs.String("env-file", "", "write to `FILE` the variables that run karmagate serve against the sandbox")
	verbose := fs.Bool("v", false, "log every call")
	publicURL := fs.String("public-url", "http://127.0.0.1:8080", "`URL` karmagate serve is reached at: its /auth/telegram/callback is allowed as a redirect URL of Log in with Telegram, and the env file's KARMAGATE_PUBLIC_URL")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: karmagate sandbox [--listen ADDR] [--mtproto ADDR] [--seed N] [--env-file FILE] [--public-url URL] [-v]")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("sandbox: unexpected argument %q (flags are --listen, --mtproto, --seed, --env-file, --public-url, -v)", fs.Arg(0))
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	started := time.Now()
	if err := checkPublicURL("--public-url", *publicURL, false); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	sb, err := sandbox.Start(ctx, sandbox.Config{Seed: *seed, BotAPIAddr: *listen, MTProtoAddr: *mt, Logger: logger,
		OIDCRedirects: []string{loginRedirect(*publicURL)}})
	if err != nil {
		return err
	}
	defer sb.Close()
	var dev devDefaults
	if *envFile != "" {
		if dev, err = newDevDefaults(*envFile); err != nil {
			return err
		}

		// 0600: it holds the bot token, the API key and the master secret.
		if err := writePrivateFile(*envFile, []byte(sb.EnvFile()+dev.envFile()+oidcEnvFile(sb, *publicURL))); err != nil {
			return fmt.Errorf("write env file: %w", err)
		}
	}
	fmt.Fprintf(stdout, "karmagate sandbox ready in %s\n", time.Since(started).Round(time.Millisecond))
	fmt.Fprintf(stdout, "  Bot API:  %s  (bot @%s, token %s)\n", sb.BotAPIURL(), sb.Bot().Username, sb.BotToken())
	fmt.Fprintf(stdout, "  control:  %s/sandbox/\n", sb.BotAPIURL())
	fmt.Fprintf(stdout, "  MTProto:  %s\n", sb.MTProtoAddr())
	if *envFile != "" {
		p := sourcePath(*envFile)
		fmt.Fprintf(stdout, "  env file: %s  (set -a; . %s; ./karmagate serve)\n", p, p)
		fmt.Fprintf(stdout, "            unless already set: API key %s, rules %s, database %s\n", dev.APIKey, dev.Rules, dev.DB)
	}
	<-ctx.Done()
	return sb.Close()
}

// sourcePath is path as the shell's `.` must be given it: a name without a
// slash would be looked up in PATH.
func sourcePath(path string) string {
	if strings.Contains(path, "/") {
		return path
	}
	return "./" + path
}

// devDefaults are the development values the env file gives `karmagate
// serve` where the environment has none of its own.
type devDefaults struct {
	APIKey string // KARMAGATE_API_KEY: random, 32 hex digits
	Secret string // KARMAGATE_SECRET: random, 64 hex digits
	// AdminToken is KARMAGATE_ADMIN_TOKEN, the userbot routes' token:
	// random, 32 hex digits. The env file also lets the API key sign in
	// to the dashboard (KARMAGATE_DASHBOARD_API_KEY=true), for
	// development.
	AdminToken string
	Rules      string // KARMAGATE_RULES: absolute path
	DB         string // KARMAGATE_DB: sqlite: beside the env file
}

// exampleRules is the rules file the sandbox writes beside its env file
// when the working directory has no rules.example.yaml.
const exampleRules = `# Written by karmagate sandbox: a small rules file to try karmagate against
# the sandbox. Edit it, or point KARMAGATE_RULES at your own.
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
  customers-club:
    title: Customers Club
    groups: [customers]
    min_karma: 50
`

// newDevDefaults makes a fresh key and secret and finds rules: the working
// directory's rules.example.yaml, else sandbox.rules.yaml beside envFile,
// written there unless it exists.
func newDevDefaults(envFile string) (devDefaults, error) {
	dir, err := filepath.Abs(filepath.Dir(envFile))
	if err != nil {
		return devDefaults{}, fmt.Errorf("env file folder: %w", err)
	}
	d := devDefaults{APIKey: randomHex(16), Secret: randomHex(32), AdminToken: randomHex(16), DB: "sqlite:" + filepath.Join(dir, "sandbox.db")}
	if st, err := os.Stat("rules.example.yaml"); err == nil && st.Mode().IsRegular() {
		if d.Rules, err = filepath.Abs("rules.example.yaml"); err != nil {
			return devDefaults{}, fmt.Errorf("rules.example.yaml: %w", err)
		}
		return d, nil
	}
	d.Rules = filepath.Join(dir, "sandbox.rules.yaml")
	f, err := os.OpenFile(d.Rules, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return d, nil // an earlier run's, perhaps edited since: keep it
	}
	if err != nil {
		return devDefaults{}, fmt.Errorf("write rules for the sandbox: %w", err)
	}
	if _, err := f.WriteString(exampleRules); err != nil {
		f.Close()
		return devDefaults{}, fmt.Errorf("write rules for the sandbox: %w", err)
	}
	if err := f.Close(); err != nil {
		return devDefaults{}, fmt.Errorf("write rules for the sandbox: %w", err)
	}
	return d, nil
}

// envFile renders the defaults as POSIX shell assignments that keep a value
// already in the environment: KARMAGATE_DB=${KARMAGATE_DB:-'sqlite:…'}.
func (d devDefaults) envFile() string {
	var b strings.Builder
	b.WriteString("# Development values for karmagate serve: for these, a value already in the environment wins.\n")
	for _, kv := range [][2]string{
		{"KARMAGATE_API_KEY", d.APIKey},
		{"KARMAGATE_SECRET", d.Secret},
		{"KARMAGATE_ADMIN_TOKEN", d.AdminToken},
		{"KARMAGATE_DASHBOARD_API_KEY", "true"},
		{"KARMAGATE_RULES", d.Rules},
		{"KARMAGATE_DB", d.DB},
	} {
		if kv[1] == "" {
			continue
		}
		fmt.Fprintf(&b, "%s=${%s:-%s}\n", kv[0], kv[0], shellQuote(kv[1]))
	}
	return b.String()
}

// shellQuote single-quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// randomHex returns n random bytes as hex; crypto/rand.Read never fails.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
