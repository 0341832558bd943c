package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/api"
	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/callback"
	"github.com/karmagate/karmagate/dashboard"
	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/login"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/source"
	"github.com/karmagate/karmagate/userbot"
	"github.com/karmagate/karmagate/vault"
	"github.com/karmagate/karmagate/worker"
)

// Main is the karmagate daemon: built from one Config, started by Run,
// stopped by Close.
type Main struct {
	Config Config
	Logger *slog.Logger
	Now    func() time.Time
	// GraceSweep is how often ended grace periods are looked for; a minute
	// by default (the demo, with grace periods of seconds, looks every
	// second).
	GraceSweep time.Duration

	// Owner names this process in every lease it takes and in the
	// instances table (host:pid:random).
	Owner string
	// Heart keeps the process registered as alive and its clock in step
	// with the database's.
	Heart *worker.Heart

	DB        *models.DB
	Store     *models.Store
	API       *api.Server
	Dashboard *dashboard.Server
	Bot       *bot.Bot
	Workers   *worker.Pool
	// Source pulls members from the website's database (KARMAGATE_SOURCE);
	// nil without one.
	Source *source.Poller
	// Callbacks sends the website signed callbacks (KARMAGATE_CALLBACK_URL);
	// nil without one.
	Callbacks *callback.Sender
	// Login is Log in with Telegram (TELEGRAM_OIDC_CLIENT_ID); nil when off.
	Login *login.Server

	sourceDB *source.MySQL
	// Userbots is the userbot pool, nil when TELEGRAM_API_ID is not set.
	Userbots *userbot.Pool
	// Reconciler runs the full reconcile passes: on start, every
	// KARMAGATE_RECONCILE_EVERY (one instance per pass), on /sync.
	Reconciler *worker.Reconciler

	ln     net.Listener
	http   *http.Server
	unlock func() // the SQLite database's serve lock
	fatal  chan error
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewMain returns a daemon for cfg.
func NewMain(cfg Config, logger *slog.Logger) *Main {
	return &Main{Config: cfg, Logger: logger, Now: time.Now, fatal: make(chan error, 1)}
}

// Fatal delivers the error that ends serve after Run returned: the bot's
// token refused by Telegram once it could be reached.
func (m *Main) Fatal() <-chan error { return m.fatal }

// openStore opens and migrates the database and loads the rules: what serve,
// migrate and sync share.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger, now func() time.Time, migrate bool) (*models.DB, *models.Store, error) {
	var rules *gate.Rules
	if cfg.RulesPath != "" {
		r, err := gate.LoadRules(cfg.RulesPath)
		if err != nil {
			return nil, nil, err
		}
		rules = r
	}
	db, err := models.Open(ctx, cfg.DB, models.OpenOptions{Logger: logger})
	if err != nil {
		return nil, nil, err
	}
	var v *vault.Vault
	if cfg.Secret != "" {
		// A wrong secret is refused before anything is read or written
		// with it: sessions sealed under the right one stay intact.
		if v, err = checkSecret(ctx, db, cfg.Secret); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	if migrate {
		applied, err := db.Migrate(ctx)
		if err != nil {
			db.Close()
			return nil, nil, err
		}
		for _, name := range applied {
			logger.InfoContext(ctx, "applied migration", "name", name)
		}
	} else if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	if v != nil && migrate {
		if _, err := db.KeepSecretVerifier(ctx, v.Verifier()); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	if rules == nil {
		return db, nil, nil
	}
	return db, models.NewStore(db, rules, models.Options{Now: now, Logger: logger, Callbacks: cfg.CallbackURL != "", DryRun: cfg.DryRun,
		MaxRemovals: cfg.MaxRemovals, Admins: cfg.Admins}), nil
}

// checkSecret compares KARMAGATE_SECRET with the verifier the database
// keeps (if it keeps one yet) and returns the secret's vault.
func checkSecret(ctx context.Context, db *models.DB, secret string) (*vault.Vault, error) {
	v, err := vault.New([]byte(secret))
	if err != nil {
		return nil, err
	}
	stored, err := db.SecretVerifier(ctx)
	if err != nil {
		return nil, err
	}
	if stored != "" {
		if err := v.Check(stored); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Run opens everything and starts serving; it returns once the HTTP
// listener is up.
func (m *Main) Run(ctx context.Context) error {
	if err := m.Config.Validate(); err != nil {
		return err
	}
	// What can fail for good is checked before anything is created: the
	// port (busy), the bot's token (refused); then the database.
	var err error
	if m.ln, err = net.Listen("tcp", m.Config.Listen); err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Listen, err)
	}
	if err := checkToken(ctx, m.Config); err != nil {
		return err
	}
	unlock, err := lockServe(m.Config.DB)
	if err != nil {
		return err
	}
	m.unlock = unlock
	// Every clock of the process is the database's (Heart.Now), so that
	// leases and deadlines mean the same on every host whatever their own
	// clocks say. The store is opened first, with this host's clock until
	// the heart has measured the difference.
	base := m.Now
	var heart *worker.Heart
	now := func() time.Time {
		if heart != nil {
			return heart.Now()
		}
		return base()
	}
	db, store, err := openStore(ctx, m.Config, m.Logger, now, true)
	if err != nil {
		return err
	}
	m.DB, m.Store = db, store
	m.Owner = worker.DefaultOwner()
	h, err := worker.NewHeart(worker.HeartOptions{Store: store, Owner: m.Owner, Version: version, Base: base, Logger: m.Logger})
	if err != nil {
		return err
	}
	if err := h.Start(ctx); err != nil {
		return fmt.Errorf("register this instance: %w", err)
	}
	heart, m.Heart, m.Now = h, h, h.Now
	if changed, err := store.SyncRules(ctx, "rules"); err != nil {
		return fmt.Errorf("apply rules: %w", err)
	} else if changed {
		m.Logger.InfoContext(ctx, "rules changed: re-planned every member", "rules", m.Config.RulesPath)
	}
	// Dry run turned off (rules file or KARMAGATE_DRY_RUN) since the last
	// start: the removals it held run now.
	released, err := store.ReleaseHeld(ctx, "dry-run-off")
	if err != nil {
		return fmt.Errorf("release held removals: %w", err)
	}
	for chat, n := range released {
		m.Logger.InfoContext(ctx, "dry run is off: held removals released", "chat", chat, "removals", n)
	}
	reg := prometheus.NewRegistry()
	tokens, err := linking.NewTokens(linking.TokenOptions{Secret: []byte(m.Config.Secret), Store: store.Tokens(), TTL: m.Config.LinkTTL, Now: m.Now})
	if err != nil {
		return fmt.Errorf("link tokens: %w", err)
	}
	widget, err := linking.NewWidget(linking.WidgetOptions{BotToken: m.Config.BotToken, Replay: store.Tokens(), Now: m.Now})
	if err != nil {
		return fmt.Errorf("login widget: %w", err)
	}
	var pool *worker.Pool
	var afterStore func()
	if m.Config.Failpoint == "kill-after-store" {
		afterStore = func() {
			m.Logger.Warn("failpoint kill-after-store: killing this process")
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	m.Bot, err = bot.New(ctx, bot.Options{
		Token: m.Config.BotToken, ServerURL: m.Config.BotAPIURL, Store: store, Tokens: tokens, Widget: widget, Secret: []byte(m.Config.Secret),
		WebhookURL: m.Config.WebhookURL, Admins: m.Config.Admins, LogChat: m.Config.LogChat, Texts: store.Rules().Messages, ProfileURL: m.Config.ProfileURL,
		WakeWorkers: func() { pool.Wake() }, Now: m.Now, Owner: m.Owner, Logger: m.Logger, Registerer: reg, AfterStore: afterStore,
		// Telegram unreachable at start (an outage, a DNS blip) leaves the
		// REST API and the webhook serving; the bot keeps trying.
		ConnectLater: true,
		DoorURL:      m.Config.doorURL(),
		Sync: func(ctx context.Context, by string) (string, error) {
			rep, err := m.Reconciler.Pass(ctx, "/sync", by)
			if err != nil {
				return "", err
			}
			return rep.String(), nil
		},
	})
	if err != nil {
		return err
	}
	if m.Login, err = m.newLogin(store, reg); err != nil {
		return err
	}
	executors := m.Bot.Executors()
	if m.Config.CallbackURL != "" {
		m.Callbacks, err = callback.New(callback.Options{URL: m.Config.CallbackURL, Secret: []byte(m.Config.CallbackSecret),
			UserAgent: "karmagate/" + version, Now: m.Now, Logger: m.Logger, Registerer: reg})
		if err != nil {
			return err
		}
		maps.Copy(executors, m.Callbacks.Executors())
	}
	var userbots api.Userbots
	if m.Config.APIID != 0 {
		if m.Userbots, err = m.newUserbots(store, func() { pool.Wake() }); err != nil {
			return err
		}
		for kind, ex := range m.Userbots.Executors() {
			executors[kind] = ex
		}
		executors[string(gate.ActionInvite)] = m.Userbots.Invite(executors[string(gate.ActionInvite)])
		executors[string(gate.ActionRemove)] = m.Userbots.Remove(executors[string(gate.ActionRemove)])
		userbots = m.Userbots
	}
	pool = worker.New(worker.Options{Store: store, Executors: executors, Now: m.Now, Owner: m.Owner, Logger: m.Logger, Registerer: reg})
	m.Workers = pool
	if m.Reconciler, err = newReconciler(m.Config, store, m.Userbots, pool.Wake, m.Now, m.Owner, m.Logger, reg); err != nil {
		return err
	}
	if m.Config.Source != "" && store.Rules().Source != nil {
		if m.sourceDB, err = source.OpenMySQL(m.Config.Source, store.Rules().Source.Query); err != nil {
			return fmt.Errorf("KARMAGATE_SOURCE: %w", err)
		}
		m.Source, err = source.New(source.Options{Store: store, Fetcher: m.sourceDB, Changed: pool.Wake, Logger: m.Logger, Registerer: reg})
		if err != nil {
			return err
		}
	}
	var afterWrite func()
	if m.Config.Failpoint == "kill-after-write" {
		afterWrite = func() {
			m.Logger.Warn("failpoint kill-after-write: killing this process")
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	m.API = api.New(api.Options{Store: store, APIKey: m.Config.APIKey, AdminToken: m.Config.AdminToken, MetricsToken: m.Config.MetricsToken,
		Linker: m.Bot, Widget: m.Bot, LoginURLs: m.loginURLs(), People: m.Bot, Userbots: userbots, Logger: m.Logger, Registry: reg, Version: version, WakeWorkers: pool.Wake,
		Degraded: m.Bot.Degraded, AfterWrite: afterWrite})

	dashboardHandler, err := m.newDashboard(ctx, store)
	if err != nil {
		return err
	}

	// One mux for everything served on KARMAGATE_LISTEN: the API (with
	// health and metrics), the dashboard and, in webhook mode, Telegram's
	// deliveries.
	mux := http.NewServeMux()
	mux.Handle("/", m.API)
	mux.Handle(dashboard.Prefix, dashboardHandler)
	mux.Handle(dashboard.Prefix+"/", dashboardHandler)
	if err := m.mountDoor(mux, store.Rules()); err != nil {
		return err
	}
	m.mountLogin(mux)
	if m.Config.WebhookURL != "" {
		u, err := url.Parse(m.Config.WebhookURL)
		if err != nil {
			return fmt.Errorf("KARMAGATE_WEBHOOK_URL: %w", err)
		}
		mux.Handle(u.Path, m.Bot.WebhookHandler())
	}

	// The API's paths go to it as they came: the mux would redirect one
	// with . or .. segments to its clean form (307), which the API refuses
	// instead.
	api := m.API
	root := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			api.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	m.http = &http.Server{
		Handler:           root,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	var bg context.Context
	bg, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.goRun("http", func(context.Context) {
		if err := m.http.Serve(m.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server stopped", "err", err)
		}
	}, bg)
	every := m.GraceSweep
	if every <= 0 {
		every = time.Minute
	}
	m.goRun("heartbeat", func(ctx context.Context) { _ = m.Heart.Run(ctx) }, bg)
	m.goRun("grace sweep", func(ctx context.Context) { m.sweepGrace(ctx, every) }, bg)
	m.goRun("telegram", func(ctx context.Context) { m.runTelegram(ctx, store) }, bg)
	pruner := worker.NewPruner(worker.PruneOptions{Store: store, Retention: m.Config.Retention, Logger: m.Logger, Registerer: reg})
	m.goRun("prune", func(ctx context.Context) { _ = pruner.Run(ctx) }, bg)
	if m.Source != nil {
		m.goRun("source", func(ctx context.Context) {
			if err := m.Source.Run(ctx); err != nil {
				m.Logger.Error("source stopped", "err", err)
			}
		}, bg)
	}
	mode := "long polling"
	if m.Config.WebhookURL != "" {
		mode = "webhook"
	}
	if m.Source != nil {
		m.Logger.InfoContext(ctx, "pulling members from the website's database", "every", store.Rules().Source.Every)
	}
	if m.Callbacks != nil {
		m.Logger.InfoContext(ctx, "sending callbacks to the website", "url", m.Config.CallbackURL)
	}
	botName := "(Telegram not reached yet: retrying)"
	if m.Bot.Connected() {
		botName = "@" + m.Bot.Username()
	}
	m.Logger.InfoContext(ctx, "karmagate serving", "addr", m.Addr(), "db", m.DB.Dialect(), "rules", m.Config.RulesPath,
		"chats", len(store.Rules().Chats), "bot", botName, "updates", mode, "userbots", m.Userbots != nil)
	return nil
}

// runTelegram waits until the Bot API answers (at once, usually), then
// runs what calls Telegram: the bot, the userbot pool, phone lookups, the
// workers and the reconciler. Meanwhile the REST API and the webhook serve
// (the webhook stores updates; they are processed once connected). A token
// Telegram refuses ends serve through Fatal.
func (m *Main) runTelegram(ctx context.Context, store *models.Store) {
	if !m.Bot.Connected() {
		if err := m.Bot.Connect(ctx); err != nil {
			if errors.Is(err, bot.ErrTokenRefused) {
				m.fatal <- err
			}
			return
		}
		m.Logger.InfoContext(ctx, "Telegram's Bot API reached", "bot", "@"+m.Bot.Username())
	}
	m.goRun("bot", func(ctx context.Context) {
		if err := m.Bot.Run(ctx); err != nil {
			m.Logger.Error("bot stopped", "err", err)
		}
	}, ctx)
	if m.Userbots != nil {
		m.goRun("userbots", func(ctx context.Context) {
			if err := m.Userbots.Run(ctx); err != nil {
				m.Logger.Error("userbot pool stopped", "err", err)
			}
		}, ctx)
	}
	if phones := m.phoneLinker(store); phones != nil {
		m.goRun("phone lookups", phones.Run, ctx)
	}
	m.goRun("workers", func(ctx context.Context) {
		if err := m.Workers.Run(ctx); err != nil {
			m.Logger.Error("workers stopped", "err", err)
		}
	}, ctx)
	m.goRun("reconcile", func(ctx context.Context) {
		if err := m.Reconciler.Run(ctx); err != nil {
			m.Logger.Error("reconcile stopped", "err", err)
		}
	}, ctx)
}

// newUserbots builds the userbot pool serve runs.
func (m *Main) newUserbots(store *models.Store, wake func()) (*userbot.Pool, error) {
	v, err := vault.New([]byte(m.Config.Secret))
	if err != nil {
		return nil, err
	}
	var failpoint func(string)
	if m.Config.Failpoint == "kill-after-create-channel" {
		failpoint = func(name string) {
			if name == userbot.FailAfterCreateChannel {
				m.Logger.Warn("failpoint kill-after-create-channel: killing this process")
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
		}
	}
	return userbot.New(userbot.Options{
		Accounts: store.Userbots(), Store: store, Vault: v, Telegram: m.telegram(), BotUsernameOf: m.Bot.Username,
		// The reconciler schedules the audits (one instance per pass).
		AuditEvery: -1, Failpoint: failpoint, WakeWorkers: wake, Now: m.Now, Owner: m.Owner, Logger: m.Logger,
		PhoneImport: m.Config.PhoneImport,
	})
}

// newReconciler builds the reconciler serve and sync run: it audits the
// chats through the userbot pool when there is one.
func newReconciler(cfg Config, store *models.Store, userbots *userbot.Pool, wake func(), now func() time.Time, owner string, logger *slog.Logger, reg prometheus.Registerer) (*worker.Reconciler, error) {
	opts := worker.ReconcileOptions{Store: store, Every: cfg.ReconcileEvery, OnStart: true,
		WakeWorkers: wake, Now: now, Owner: owner, Logger: logger, Registerer: reg}
	if userbots != nil {
		opts.Auditor = userbots
	}
	return worker.NewReconciler(opts)
}

// telegram is how the userbot pool reaches Telegram (or the sandbox).
func (m *Main) telegram() userbot.Telegram {
	return telegramOf(m.Config)
}

func telegramOf(c Config) userbot.Telegram {
	return userbot.Telegram{AppID: c.APIID, AppHash: c.APIHash, DCAddr: c.DCAddr, ServerKey: []byte(c.ServerKey)}
}

// goRun runs fn in the background until ctx ends; Close waits for it.
func (m *Main) goRun(name string, fn func(context.Context), ctx context.Context) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		fn(ctx)
		m.Logger.Debug("stopped", "part", name)
	}()
}

// sweepGrace queues removals when grace periods end.
func (m *Main) sweepGrace(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := m.Store.ExpireGrace(ctx, "grace"); err != nil {
				m.Logger.WarnContext(ctx, "grace sweep failed", "err", err)
			} else if n > 0 {
				m.Logger.InfoContext(ctx, "grace periods ended", "members", n)
			}
			// strangers: remove_after (issue 16).
			if n, err := m.Store.ExpireStrangers(ctx, "strangers"); err != nil {
				m.Logger.WarnContext(ctx, "strangers sweep failed", "err", err)
			} else if n > 0 {
				m.Logger.InfoContext(ctx, "strangers' clocks ran out", "removals", n)
			}
		}
	}
}

// Addr is the address the HTTP server listens on.
func (m *Main) Addr() string {
	if m.ln == nil {
		return ""
	}
	return m.ln.Addr().String()
}

// Close stops serving, letting requests in flight finish, and closes the
// database.
func (m *Main) Close() error {
	var errs []error
	if m.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, m.http.Shutdown(ctx))
		cancel()
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.sourceDB != nil {
		errs = append(errs, m.sourceDB.Close())
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	if m.unlock != nil {
		m.unlock()
		m.unlock = nil
	}
	if m.http == nil && m.ln != nil {
		errs = append(errs, m.ln.Close()) // Run failed before serving
	}
	return errors.Join(errs...)
}

// phoneLinker links members who never opened the bot by the phone the
// website gave (members who did link themselves, by deep link or the
// bot's Share my phone button, need none of it): the bot (sendContact in
// KARMAGATE_LOG_CHAT) asks first, and the userbot pool (importContacts)
// only with KARMAGATE_PHONE_IMPORT, within a small daily budget per
// account, since importing other people's numbers gets accounts banned;
// nil when neither can ask.
func (m *Main) phoneLinker(store *models.Store) *linking.PhoneLinker {
	var chain linking.Chain
	if m.Config.LogChat != 0 {
		chain = append(chain, linking.NamedResolver{Name: "bot", Resolver: m.Bot})
	}
	if m.Userbots != nil && m.Config.PhoneImport {
		chain = append(chain, linking.NamedResolver{Name: "userbot", Resolver: m.Userbots})
	}
	if len(chain) == 0 {
		return nil
	}
	l, err := linking.NewPhoneLinker(linking.PhoneLinkerOptions{Store: store, Resolver: chain, AlreadyLinked: models.ErrAlreadyLinked, Now: m.Now, Logger: m.Logger})
	if err != nil {
		m.Logger.Error("phone lookups off", "err", err)
		return nil
	}
	return l
}

// dashboardUserbots is the userbot pool as the dashboard shows it; nil
// without a pool.
func (m *Main) dashboardUserbots() dashboard.Userbots {
	if m.Userbots == nil {
		return nil
	}
	return dashboardUserbots{pool: m.Userbots}
}

// dashboardAudits starts audits of hand-made groups from the dashboard;
// nil without a userbot pool, whose account would do them.
func (m *Main) dashboardAudits() dashboard.Auditor {
	if m.Userbots == nil || m.Bot == nil {
		return nil
	}
	return m.Bot
}

// newDashboard builds the dashboard, or, when no one may sign in (no
// KARMAGATE_ADMIN_USERS and the API key not allowed to), a page saying how
// to turn it on. Sessions left from before whose admin's password changed
// are ended here.
func (m *Main) newDashboard(ctx context.Context, store *models.Store) (http.Handler, error) {
	if len(m.Config.AdminUsers) == 0 && !m.Config.DashboardAPIKey {
		m.Logger.InfoContext(ctx, "dashboard off: no one may sign in; set KARMAGATE_ADMIN_USERS (or KARMAGATE_DASHBOARD_API_KEY=true)")
		return http.HandlerFunc(dashboardOff), nil
	}
	var err error
	m.Dashboard, err = dashboard.New(dashboard.Options{Store: store, Sessions: store, APIKey: m.Config.APIKey, Userbots: m.dashboardUserbots(),
		APIKeySignIn: m.Config.DashboardAPIKey, Users: m.Config.AdminUsers, TrustedProxies: m.Config.TrustedProxies,
		Secret: []byte(m.Config.Secret), Logger: m.Logger, Now: m.Now, Version: version,
		// Confirming the removals held under dry run.
		Removals: store,
		// The chat rows' "Bind code" buttons.
		BindCodes: store,
		// The chat rows' "Audit" buttons (/audit on), with a pool to audit.
		Audits: m.dashboardAudits(),
		// The first-run steps' "bot token checked".
		Telegram: m.Bot})
	if err != nil {
		return nil, err
	}
	if err := m.Dashboard.PruneSessions(ctx); err != nil {
		return nil, err
	}
	return m.Dashboard, nil
}

// dashboardOff answers /admin when no one may sign in.
func dashboardOff(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	io.WriteString(w, "The dashboard is off: no one may sign in. Set KARMAGATE_ADMIN_USERS (htpasswd -nB NAME prints an entry), "+
		"or KARMAGATE_DASHBOARD_API_KEY=true to sign in with the API key, and restart karmagate.\n")
}
