package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/userbot"
	"github.com/karmagate/karmagate/vault"
	"github.com/karmagate/karmagate/worker"
)

// runSync is `karmagate sync`: one full reconcile pass against Telegram,
// for cron. With userbot accounts (TELEGRAM_API_ID, KARMAGATE_SECRET) it
// connects those no running instance holds, lists every gated chat's
// participants and records them; chats whose account another instance
// holds get an audit action that instance carries out, and sync waits for
// it (within --wait) to report what it found. Without, it re-plans only,
// and says so. What the pass queues is left to serve's
// workers. It prints the report; a chat that could not be audited makes
// the exit status 1.
func runSync(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("sync", args, getenv, stderr, checkSync)
	if err != nil {
		return err
	}
	logger := cfg.Logger(stderr)
	db, store, err := openStore(ctx, cfg, logger, nil, false)
	if err != nil {
		return err
	}
	defer db.Close()

	opts := worker.ReconcileOptions{Store: store, Every: -1, Logger: logger}
	if cfg.APIID != 0 && cfg.APIHash != "" && cfg.Secret != "" {
		pool, stop, err := syncUserbots(ctx, cfg, store, logger)
		if err != nil {
			return err
		}
		defer stop()
		if pool != nil {
			opts.Auditor = pool
			opts.AuditWait = cfg.SyncWait
		}
	}
	if opts.Auditor == nil {
		fmt.Fprintln(stdout, "no userbot accounts (TELEGRAM_API_ID, KARMAGATE_SECRET and karmagate userbot login): re-planning only, the chats are not audited")
	}
	rec, err := worker.NewReconciler(opts)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, cfg.SyncWait)
	defer cancel()
	rep, err := rec.Pass(pctx, "sync", "")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "reconciled against %d chats: %s\n", len(store.Rules().Chats), rep)
	if len(rep.Errors) > 0 {
		return fmt.Errorf("sync: %d problems (see the report)", len(rep.Errors))
	}
	return nil
}

// syncUserbots starts a userbot pool for sync and waits, within
// cfg.SyncWait, until the ready accounts no other instance holds are
// connected. It returns nil when there is no ready account.
func syncUserbots(ctx context.Context, cfg Config, store *models.Store, logger *slog.Logger) (*userbot.Pool, func(), error) {
	rows, err := store.Userbots().ListUserbots(ctx)
	if err != nil {
		return nil, nil, err
	}
	// The ready accounts no running instance holds: those connect here.
	free, held := 0, 0
	now := time.Now()
	for _, r := range rows {
		switch {
		case r.State != models.UserbotReady:
		case r.LeaseOwner != nil && *r.LeaseOwner != "" && r.LeaseUntil != nil && r.LeaseUntil.After(now):
			held++
		default:
			free++
		}
	}
	if free+held == 0 {
		return nil, func() {}, nil
	}
	v, err := vault.New([]byte(cfg.Secret))
	if err != nil {
		return nil, nil, err
	}
	pool, err := userbot.New(userbot.Options{Accounts: store.Userbots(), Store: store, Vault: v, Telegram: telegramOf(cfg),
		AuditEvery: -1, Tick: time.Second, Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := pool.Run(rctx); err != nil {
			logger.Error("userbot pool stopped", "err", err)
		}
	}()
	stop := func() { cancel(); wg.Wait() }
	// Accounts another instance holds do not connect here: their chats'
	// audits are queued for that instance, and sync waits for them.
	if held > 0 {
		logger.Info("userbot accounts held by a running instance: it audits their chats", "held", held)
	}
	if free > 0 {
		wctx, wcancel := context.WithTimeout(ctx, min(cfg.SyncWait/2, 30*time.Second))
		defer wcancel()
		if err := pool.WaitReady(wctx, free); err != nil {
			logger.Warn("not every free userbot account connected", "accounts", free, "err", err)
		}
	}
	return pool, stop, nil
}
