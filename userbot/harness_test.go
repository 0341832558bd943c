package userbot_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
	"github.com/karmagate/karmagate/userbot"
	"github.com/karmagate/karmagate/vault"
	"github.com/karmagate/karmagate/worker"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// serverKey is one MTProto server key for the test binary: 2048-bit keys
// are slow to make.
func serverKey() *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

const secret = "test-secret-0123456789abcdef-0123456789"

const threeChats = `
groups: [webmasters, customers]
chats:
  webmasters-pro:
    title: Webmasters Pro
    about: Webmasters with karma 100 and more
    groups: [webmasters]
    min_karma: 100
  customers-club:
    title: Customers Club
    groups: [customers]
    min_karma: 50
  staff-room:
    title: Staff Room
    groups: ["*"]
    min_karma: 1000
`

type harnessOptions struct {
	rules   string
	spec    string // database; a fresh SQLite by default
	limits  world.Limits
	clock   *sandboxtest.Clock // nil: real time
	pace    map[string]time.Duration
	noBot   bool // no Bot API bot or worker pool: the test drives the executors
	proxy   bool // the userbots reach MTProto through a proxy the test can cut
	workers int
	// failpoint is the pool's Options.Failpoint (a crash test's hook).
	failpoint func(name string)
	// accounts, when set, wraps the store of accounts the pool gets.
	accounts func(userbot.Accounts) userbot.Accounts
}

// harness is the sandbox, a store, the bot, the worker pool and the
// userbot pool, as serve runs them.
type harness struct {
	t      testing.TB
	o      harnessOptions
	sb     *sandbox.Sandbox
	w      *world.World
	store  *models.Store
	ub     *models.Userbots
	vault  *vault.Vault
	proxy  *proxy
	now    func() time.Time
	pool   *userbot.Pool
	bot    *bot.Bot
	worker *worker.Pool
	ctx    context.Context
	stop   func()
	codes  []string // the login codes used
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("KARMAGATE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	if o.rules == "" {
		o.rules = threeChats
	}
	if o.spec == "" {
		o.spec = modelstest.Specs(t)["sqlite"]
	}
	now := time.Now
	var sbNow func() time.Time
	if o.clock != nil {
		now, sbNow = o.clock.Now, o.clock.Now
	}
	sb := sandboxtest.Start(t, sandbox.Config{Limits: o.limits, Now: sbNow, MTProtoKey: serverKey()})
	db := modelstest.MustOpen(t, o.spec)
	store := models.NewStore(db, modelstest.MustRules(t, o.rules), models.Options{Now: now})
	v, err := vault.New([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, o: o, sb: sb, w: sb.World(), store: store, ub: store.Userbots(), vault: v, now: now}
	if o.proxy {
		h.proxy = newProxy(t, sb.MTProtoAddr())
	}
	h.start()
	return h
}

// telegram is how the pool reaches the sandbox's MTProto server (through
// the proxy when there is one).
func (h *harness) telegram() userbot.Telegram {
	addr := h.sb.MTProtoAddr()
	if h.proxy != nil {
		addr = h.proxy.addr()
	}
	return userbot.Telegram{AppID: h.sb.MTProto().AppID(), AppHash: h.sb.MTProto().AppHash(), DCAddr: addr, ServerKey: h.sb.MTProto().PublicKeyPEM()}
}

// newPool builds a userbot pool on the harness's store.
func (h *harness) newPool(wake func()) *userbot.Pool {
	h.t.Helper()
	pace := h.o.pace
	if pace == nil {
		pace = map[string]time.Duration{}
	}
	var accounts userbot.Accounts = h.ub
	if h.o.accounts != nil {
		accounts = h.o.accounts(accounts)
	}
	p, err := userbot.New(userbot.Options{
		Accounts: accounts, Store: h.store, Vault: h.vault, Telegram: h.telegram(), BotUsername: sandbox.DefaultBotUsername,
		LeaseTTL: 3 * time.Second, Tick: 100 * time.Millisecond, CallTimeout: 20 * time.Second, Pace: pace, AuditEvery: -1,
		WakeWorkers: wake, Now: h.now, Logger: testLogger(h.t), Failpoint: h.o.failpoint,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// start builds and runs the userbot pool, the bot and the worker pool.
func (h *harness) start() {
	t := h.t
	ctx, cancel := context.WithCancel(context.Background())
	h.ctx = ctx
	var wp *worker.Pool
	wake := func() {
		if wp != nil {
			wp.Wake()
		}
	}
	h.pool = h.newPool(wake)
	var wg sync.WaitGroup
	run := func(fn func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); fn(ctx) }()
	}
	if !h.o.noBot {
		tokens, err := linking.NewTokens(linking.TokenOptions{Secret: []byte(secret), Store: h.store.Tokens(), Now: h.now})
		if err != nil {
			t.Fatal(err)
		}
		b, err := bot.New(ctx, bot.Options{
			Token: h.sb.BotToken(), ServerURL: h.sb.BotAPIURL(), Store: h.store, Tokens: tokens, Secret: []byte(secret),
			Now: h.now, PollTimeout: time.Second, WakeWorkers: wake, Logger: testLogger(t), Limits: bot.Limits{PerPrivate: 0.95},
		})
		if err != nil {
			cancel()
			t.Fatalf("bot: %v", err)
		}
		h.bot = b
		ex := b.Executors()
		for k, e := range h.pool.Executors() {
			ex[k] = e
		}
		ex[string(gate.ActionInvite)] = h.pool.Invite(ex[string(gate.ActionInvite)])
		ex[string(gate.ActionRemove)] = h.pool.Remove(ex[string(gate.ActionRemove)])
		workers := h.o.workers
		if workers == 0 {
			workers = 16
		}
		wp = worker.New(worker.Options{Store: h.store, Executors: ex, Now: h.now, Poll: 50 * time.Millisecond, Workers: workers,
			Backoff: func(int) time.Duration { return 200 * time.Millisecond }, Logger: testLogger(t)})
		h.worker = wp
		run(func(ctx context.Context) { _ = b.Run(ctx) })
		run(func(ctx context.Context) { _ = wp.Run(ctx) })
	}
	run(func(ctx context.Context) { _ = h.pool.Run(ctx) })
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("the pools did not stop")
			}
		})
	}
	t.Cleanup(h.stop)
}

// restart stops everything and starts it again on the same database and
// sandbox, as a restarted serve.
func (h *harness) restart() {
	h.stop()
	h.start()
}

// eventually polls cond until it holds, failing the test after 60 s.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var phoneSeq sync.Mutex
var phoneN = 100

// person creates a Telegram account in the sandbox, with a 2FA password
// when password is set.
func (h *harness) person(name, password string, privacy world.Privacy) world.User {
	h.t.Helper()
	phoneSeq.Lock()
	phoneN++
	phone := fmt.Sprintf("+3161234%04d", phoneN)
	phoneSeq.Unlock()
	return sandboxtest.MustUser(h.t, h.sb, world.UserSpec{FirstName: name, Username: name + "_tg", Phone: phone, Password: password, Privacy: privacy})
}

// login logs an account into the pool through the login steps.
func (h *harness) login(u world.User, password string) int64 {
	h.t.Helper()
	ctx := context.Background()
	step, err := h.pool.StartLogin(ctx, u.Phone)
	if err != nil {
		h.t.Fatalf("start login: %v", err)
	}
	code, ok := h.w.LastCode(u.Phone)
	if !ok {
		h.t.Fatal("no code sent")
	}
	h.codes = append(h.codes, code)
	step, err = h.pool.SubmitCode(ctx, step.ID, code)
	if err != nil {
		h.t.Fatalf("code: %v", err)
	}
	if password != "" {
		if step.State != models.UserbotPasswordNeeded {
			h.t.Fatalf("after the code: %s, want password_needed", step.State)
		}
		if step, err = h.pool.SubmitPassword(ctx, step.ID, password); err != nil {
			h.t.Fatalf("password: %v", err)
		}
	}
	if step.State != models.UserbotReady {
		h.t.Fatalf("login ended %s, want ready", step.State)
	}
	return step.ID
}

// chatID is the Telegram chat bound to a gated chat, 0 when none.
func (h *harness) chatID(key string) int64 {
	h.t.Helper()
	row, err := h.store.ChatRow(context.Background(), key)
	if err != nil {
		h.t.Fatal(err)
	}
	if row.TgChatID == nil {
		return 0
	}
	return *row.TgChatID
}

// calls returns the MTProto calls of method by account (every account
// when 0).
func (h *harness) calls(method string, account int64) []world.Call {
	var out []world.Call
	for _, c := range h.w.Calls() {
		if c.API == "mtproto" && c.Method == method && (account == 0 || c.Account == account) {
			out = append(out, c)
		}
	}
	return out
}

// proxy forwards TCP to the MTProto server; cut drops every connection.
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func newProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// cut closes every proxied connection, as a network failure would.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
