// Command karmagate puts a website's members into private Telegram groups,
// and takes them out again, according to their karma and their group.
//
//	karmagate serve      run the service (REST API, metrics)
//	karmagate migrate    bring the database schema up to date
//	karmagate sync       one full reconcile pass against Telegram, then exit
//	karmagate sandbox    serve an embedded Telegram for tests and trials
//	karmagate userbot    log userbot accounts in (login), list them, log them out
//	karmagate bind-code  a one-time code that lets a group's owner /bind it
//	karmagate doctor     check a configuration against the real world
//	karmagate version    print the version
//
// Configuration comes from the environment; see the README.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `karmagate puts website members into private Telegram groups by karma.

usage: karmagate <command> [flags]

commands:
  serve      run the service: the bot, the workers, REST API, dashboard, health, metrics
  demo       play the whole story against an embedded Telegram, then keep serving
  migrate    bring the database schema up to date and exit
  sync       one full reconcile pass (re-plan everyone, audit every chat) and exit
  sandbox    serve an embedded Telegram (Bot API + MTProto) for tests and trials
  userbot    login, list, logout: the Telegram accounts that create and administer the groups
  bind-code  KEY: print /bind KEY CODE, a one-time code (15 min) for a group's owner to bind it
  doctor     check the configuration against Telegram, the database and the network; exit 1 unless ready for production
  version    print the version

Configuration is read from the environment (KARMAGATE_DB, KARMAGATE_API_KEY, ...);
see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := runWithInput(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode reports err on stderr and says how the process ends: 0 when it
// went well or help was asked for, 2 for a command that does not exist, 1
// for everything else.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintln(stderr, "karmagate:", err)
		return 1
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWithInput(ctx, args, getenv, strings.NewReader(""), stdout, stderr)
}

// runWithInput is run with the standard input the interactive commands
// (userbot login) read.
func runWithInput(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, getenv, stderr)
	case "migrate":
		return runMigrate(ctx, rest, getenv, stdout, stderr)
	case "sync":
		return runSync(ctx, rest, getenv, stdout, stderr)
	case "sandbox":
		return runSandbox(ctx, rest, stdout, stderr)
	case "demo":
		return runDemo(ctx, rest, stdout, stderr)
	case "userbot":
		return runUserbot(ctx, rest, getenv, stdin, stdout, stderr)
	case "bind-code":
		return runBindCode(ctx, rest, getenv, stdout, stderr)
	case "doctor":
		return runDoctor(ctx, rest, getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "karmagate", version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "karmagate: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}

// loadConfig reads the environment and the flags every database command
// takes (a flag beats the environment), then runs check: the error lists
// every problem at once, those of the environment and those check finds. A
// flag that cannot be parsed (or -h) is reported alone.
func loadConfig(name string, args []string, getenv func(string) string, stderr io.Writer, check func(*Config) error) (Config, error) {
	cfg, envErr := ConfigFromEnv(getenv)
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// A word in backquotes in a usage text names the flag's argument in -h.
	fs.StringVar(&cfg.DB, "db", cfg.DB, "database `SPEC`: sqlite:PATH or mysql:DSN (KARMAGATE_DB)")
	fs.StringVar(&cfg.RulesPath, "rules", cfg.RulesPath, "rules `FILE` (KARMAGATE_RULES)")
	flags := "[--db SPEC] [--rules FILE]"
	if name == "serve" {
		fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "`ADDR` (host:port) of the REST API, health and metrics (KARMAGATE_LISTEN)")
		flags += " [--listen ADDR]"
	}
	if name == "sync" {
		fs.DurationVar(&cfg.SyncWait, "wait", 2*time.Minute, "wait at most `DURATION` for the userbot accounts and the chats' audits")
		flags += " [--wait DURATION]"
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: karmagate %s %s\n\nConfiguration is read from the environment; see README.md.\n\n", name, flags)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("%s: unexpected argument %q (flags are %s)", name, fs.Arg(0), flags)
	}
	return cfg, configProblems(envErr, check(&cfg))
}

// checkSync is what sync needs: a database and rules.
func checkSync(c *Config) error { return configProblems(c.ValidateDB(), c.ValidateRules()) }

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, getenv, stderr, (*Config).Validate)
	if err != nil {
		return err
	}
	logger := cfg.Logger(stderr)
	m := NewMain(cfg, logger)
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
		return m.Close()
	case err := <-m.Fatal():
		logger.Error("stopping", "err", err)
		return errors.Join(err, m.Close())
	}
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("migrate", args, getenv, stderr, (*Config).ValidateDB)
	if err != nil {
		return err
	}
	cfg.RulesPath = "" // migrating needs no rules
	db, _, err := openStore(ctx, cfg, cfg.Logger(stderr), nil, true)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database schema at version %d\n", v)
	return nil
}
