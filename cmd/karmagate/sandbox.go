package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/karmagate/karmagate/sandbox"
)

// runSandbox is `karmagate sandbox`: it serves the embedded Telegram (Bot
// API and control API on --listen, MTProto on --mtproto) until ctx is
// cancelled, and writes the variables that point `karmagate serve` at it to
// --env-file.
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "address of the Bot API and the control API (/sandbox/)")
	mt := fs.String("mtproto", "127.0.0.1:8443", "address of the MTProto server")
	seed := fs.Int64("seed", 1, "seed for ids, tokens, codes and faults")
	envFile := fs.String("env-file", "", "write TELEGRAM_* variables for `karmagate serve` to this file")
	verbose := fs.Bool("v", false, "log every call")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: karmagate sandbox [--listen ADDR] [--mtproto ADDR] [--seed N] [--env-file FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	started := time.Now()
	sb, err := sandbox.Start(ctx, sandbox.Config{Seed: *seed, BotAPIAddr: *listen, MTProtoAddr: *mt, Logger: logger})
	if err != nil {
		return err
	}
	defer sb.Close()
	if *envFile != "" {
		if err := sb.WriteEnvFile(*envFile); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "karmagate sandbox ready in %s\n", time.Since(started).Round(time.Millisecond))
	fmt.Fprintf(stdout, "  Bot API:  %s  (bot @%s, token %s)\n", sb.BotAPIURL(), sb.Bot().Username, sb.BotToken())
	fmt.Fprintf(stdout, "  control:  %s/sandbox/\n", sb.BotAPIURL())
	fmt.Fprintf(stdout, "  MTProto:  %s\n", sb.MTProtoAddr())
	if *envFile != "" {
		fmt.Fprintf(stdout, "  env file: %s  (set -a; . %s; karmagate serve)\n", *envFile, *envFile)
	}
	<-ctx.Done()
	return sb.Close()
}
