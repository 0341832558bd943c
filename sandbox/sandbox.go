package sandbox

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/karmagate/karmagate/sandbox/botapi"
	"github.com/karmagate/karmagate/sandbox/mtproto"
	"github.com/karmagate/karmagate/sandbox/oidc"
	"github.com/karmagate/karmagate/sandbox/world"
)

// DefaultBotUsername is the username of the bot every sandbox starts with.
const DefaultBotUsername = "karmagate_sandbox_bot"

// Config configures a sandbox. The zero value works: seed 0, both servers
// on loopback ports chosen by the system, Telegram's limits, no logs.
type Config struct {
	// Seed makes ids, tokens, hashes, codes and faults reproducible.
	Seed int64
	// BotAPIAddr is where the Bot API and the control API listen
	// ("127.0.0.1:0" when empty).
	BotAPIAddr string
	// MTProtoAddr is where the MTProto server listens ("127.0.0.1:0" when
	// empty).
	MTProtoAddr string
	// NoMTProto leaves the MTProto server out (Bot API-only tests start faster).
	NoMTProto bool
	// Limits are Telegram's limits; zero fields take the defaults.
	Limits world.Limits
	// MaxCalls and MaxMessagesPerChat bound the call log and the messages
	// kept per chat (world.Options); zero takes the defaults, 10000 and 1000.
	MaxCalls, MaxMessagesPerChat int
	// Now is the world's clock; nil means time.Now.
	Now func() time.Time
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// BotUsername and BotName name the default bot
	// (DefaultBotUsername, "Karmagate Sandbox").
	BotUsername, BotName string
	// BotAPI configures the Bot API emulator (webhook timeouts and backoff).
	BotAPI botapi.Options
	// MTProtoKey is the MTProto server's RSA key; nil generates one.
	MTProtoKey *rsa.PrivateKey
	// AppID and AppHash are the MTProto app credentials the server accepts;
	// zero means mtproto.DefaultAppID / DefaultAppHash.
	AppID   int
	AppHash string
	// OIDCRedirects are the redirect URLs the OpenID Connect issuer
	// allows from the start (more: Sandbox.OIDC().AllowRedirect, or
	// POST /sandbox/oidc/redirects).
	OIDCRedirects []string
}

// Sandbox is a running embedded Telegram: one world served over the Bot API
// (with the control API beside it) and MTProto.
type Sandbox struct {
	cfg    Config
	log    *slog.Logger
	world  *world.World
	bot    world.User
	token  string
	botapi *botapi.Server
	mt     *mtproto.Server
	oidc   *oidc.Issuer

	httpLn net.Listener
	http   *http.Server
	mtLn   net.Listener

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error
}

// Start builds the world, its default bot, and serves the Bot API, the
// control API and MTProto until ctx is done or Close is called.
func Start(ctx context.Context, cfg Config) (*Sandbox, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BotAPIAddr == "" {
		cfg.BotAPIAddr = "127.0.0.1:0"
	}
	if cfg.MTProtoAddr == "" {
		cfg.MTProtoAddr = "127.0.0.1:0"
	}
	if cfg.BotUsername == "" {
		cfg.BotUsername = DefaultBotUsername
	}
	if cfg.BotName == "" {
		cfg.BotName = "Karmagate Sandbox"
	}
	if cfg.BotAPI.Logger == nil {
		cfg.BotAPI.Logger = cfg.Logger.With("component", "botapi")
	}
	s := &Sandbox{cfg: cfg, log: cfg.Logger}
	s.world = world.New(world.Options{
		Seed: cfg.Seed, Now: cfg.Now, Limits: cfg.Limits, Logger: cfg.Logger.With("component", "world"),
		MaxCalls: cfg.MaxCalls, MaxMessagesPerChat: cfg.MaxMessagesPerChat,
	})
	bot, token, err := s.world.CreateBot(cfg.BotUsername, cfg.BotName)
	if err != nil {
		return nil, fmt.Errorf("sandbox: create bot: %w", err)
	}
	s.bot, s.token = bot, token

	if !cfg.NoMTProto {
		mt, err := mtproto.New(s.world, mtproto.Options{
			Logger: cfg.Logger.With("component", "mtproto"), Key: cfg.MTProtoKey,
			AppID: cfg.AppID, AppHash: cfg.AppHash,
		})
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		s.mt = mt
	}

	s.httpLn, err = net.Listen("tcp", cfg.BotAPIAddr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen for the bot api: %w", err)
	}
	if s.mt != nil {
		s.mtLn, err = net.Listen("tcp", cfg.MTProtoAddr)
		if err != nil {
			s.httpLn.Close()
			return nil, fmt.Errorf("sandbox: listen for mtproto: %w", err)
		}
	}

	s.botapi = botapi.New(s.world, cfg.BotAPI)
	if err := s.startOIDC(); err != nil {
		s.httpLn.Close()
		if s.mtLn != nil {
			s.mtLn.Close()
		}
		return nil, err
	}
	s.http = &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)}

	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.fail(fmt.Errorf("sandbox: serve bot api: %w", err))
		}
	}()
	if s.mt != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.mt.Serve(ctx, s.mtLn); err != nil {
				s.fail(err)
			}
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.http.Shutdown(sctx)
		_ = s.http.Close()
	}()
	s.log.Info("sandbox started", "bot_api", s.BotAPIURL(), "mtproto", s.MTProtoAddr(), "bot", "@"+bot.Username, "seed", cfg.Seed)
	return s, nil
}

func (s *Sandbox) fail(err error) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if s.err == nil {
		s.err = err
	}
	s.log.Error("sandbox server stopped", "err", err)
}

// Close stops serving and waits for the servers to finish.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.botapi.Close()
		s.wg.Wait()
	})
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// Wait blocks until the sandbox stops (its context is done or Close).
func (s *Sandbox) Wait() error {
	s.wg.Wait()
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// World is the sandbox's world.
func (s *Sandbox) World() *world.World { return s.world }

// BotAPI is the Bot API emulator.
func (s *Sandbox) BotAPI() *botapi.Server { return s.botapi }

// MTProto is the MTProto server, nil with Config.NoMTProto.
func (s *Sandbox) MTProto() *mtproto.Server { return s.mt }

// Bot is the default bot.
func (s *Sandbox) Bot() world.User { return s.bot }

// BotToken is the default bot's token.
func (s *Sandbox) BotToken() string { return s.token }

// BotAPIURL is the Bot API's base URL (http://host:port), to be used as
// go-telegram/bot's WithServerURL; the control API is under /sandbox/.
func (s *Sandbox) BotAPIURL() string { return "http://" + s.httpLn.Addr().String() }

// BotAPIAddr is the Bot API's host:port.
func (s *Sandbox) BotAPIAddr() string { return s.httpLn.Addr().String() }

// MTProtoAddr is the MTProto server's host:port, "" without one.
func (s *Sandbox) MTProtoAddr() string {
	if s.mtLn == nil {
		return ""
	}
	return s.mtLn.Addr().String()
}

// Env is the environment that points `karmagate serve` at the sandbox:
// TELEGRAM_BOT_API_URL, TELEGRAM_BOT_TOKEN and, with MTProto,
// TELEGRAM_API_ID, TELEGRAM_API_HASH, TELEGRAM_DC_ADDR and
// TELEGRAM_SERVER_KEY (the server's public key, PEM).
func (s *Sandbox) Env() map[string]string {
	env := map[string]string{
		"TELEGRAM_BOT_API_URL": s.BotAPIURL(),
		"TELEGRAM_BOT_TOKEN":   s.token,
	}
	if s.mt != nil {
		env["TELEGRAM_API_ID"] = strconv.Itoa(s.mt.AppID())
		env["TELEGRAM_API_HASH"] = s.mt.AppHash()
		env["TELEGRAM_DC_ADDR"] = s.MTProtoAddr()
		env["TELEGRAM_SERVER_KEY"] = string(s.mt.PublicKeyPEM())
	}
	return env
}

// EnvFile renders Env as a POSIX shell file (`set -a; . ./sandbox.env`),
// values single-quoted, keys sorted.
func (s *Sandbox) EnvFile() string {
	return "# written by karmagate sandbox: its Telegram, which replaces any TELEGRAM_* already set\n" + shellEnv(s.Env())
}

// shellEnv renders env as POSIX shell assignments, values single-quoted,
// keys sorted.
func shellEnv(env map[string]string) string {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s='%s'\n", k, strings.ReplaceAll(env[k], "'", `'\''`))
	}
	return b.String()
}

// WriteEnvFile writes EnvFile to path (mode 0600: it holds the bot token).
func (s *Sandbox) WriteEnvFile(path string) error {
	if err := os.WriteFile(path, []byte(s.EnvFile()), 0o600); err != nil {
		return fmt.Errorf("sandbox: write env file: %w", err)
	}
	// os.WriteFile keeps the mode of a file that was there.
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("sandbox: write env file: %w", err)
	}
	return nil
}
