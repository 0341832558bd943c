// Command karmagate puts a website's members into private Telegram groups,
// and takes them out again, according to their karma and their group.
//
//	karmagate serve      run the service (REST API, metrics)
//	karmagate migrate    bring the database schema up to date
//	karmagate sync       re-plan every member against the rules now
//	karmagate sandbox    serve an embedded Telegram for tests and trials
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
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `karmagate puts website members into private Telegram groups by karma.

usage: karmagate <command> [flags]

commands:
  serve      run the service: REST API, health, metrics
  migrate    bring the database schema up to date and exit
  sync       re-plan every member against the rules now and exit
  sandbox    serve an embedded Telegram (Bot API + MTProto) for tests and trials
  version    print the version

Configuration is read from the environment (KARMAGATE_DB, KARMAGATE_API_KEY, ...);
see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) && !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "karmagate:", err)
		}
		if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
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

// commonFlags parses the flags every database command takes; a flag beats
// the environment.
func commonFlags(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, *flag.FlagSet, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return cfg, nil, err
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DB, "db", cfg.DB, "database: sqlite:PATH or mysql:DSN (KARMAGATE_DB)")
	fs.StringVar(&cfg.RulesPath, "rules", cfg.RulesPath, "rules file (KARMAGATE_RULES)")
	if name == "serve" {
		fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "HTTP address (KARMAGATE_LISTEN)")
	}
	if err := fs.Parse(args); err != nil {
		return cfg, fs, err
	}
	if fs.NArg() > 0 {
		return cfg, fs, fmt.Errorf("%s: unexpected argument %q (flags are --db, --rules%s)", name, fs.Arg(0), map[bool]string{true: ", --listen"}[name == "serve"])
	}
	return cfg, fs, nil
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	cfg, _, err := commonFlags("serve", args, getenv, stderr)
	if err != nil {
		return err
	}
	logger := cfg.Logger(stderr)
	m := NewMain(cfg, logger)
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	logger.Info("shutting down")
	return m.Close()
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := commonFlags("migrate", args, getenv, stderr)
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

func runSync(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, _, err := commonFlags("sync", args, getenv, stderr)
	if err != nil {
		return err
	}
	if cfg.RulesPath == "" {
		return errors.New("no rules: create rules.yaml (start from rules.example.yaml) or set KARMAGATE_RULES")
	}
	db, store, err := openStore(ctx, cfg, cfg.Logger(stderr), nil, false)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := store.ReplanAll(ctx, "sync")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-planned %d members against %d chats\n", n, len(store.Rules().Chats))
	return nil
}
