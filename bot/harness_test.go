package bot_test

import (
	"cmp"
	"context"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
	"github.com/karmagate/karmagate/worker"
)

// testRules gate two chats: webmasters-pro by karma with grace off (so a
// drop removes at once), customers-club flagging instead of removing.
const testRules = `
groups: [webmasters, customers, staff]
chats:
  webmasters-pro:
    title: Webmasters Pro
    groups: [webmasters]
    min_karma: 100
  customers-club:
    title: Customers Club
    groups: [customers]
    min_karma: 50
    on_violation: flag
`

var secret = []byte("test-secret-0123456789abcdef-0123456789")

// harness is karmagate's bot, its store and its workers running against a
// sandbox, as serve runs them.
type harness struct {
	t      testing.TB
	sb     *sandbox.Sandbox
	store  *models.Store
	tokens *linking.Tokens
	bot    *bot.Bot
	pool   *worker.Pool
	clock  *clock
	ctx    context.Context
	stop   func()
	opts   harnessOptions
}

type harnessOptions struct {
	rules    string
	admins   []int64
	webhook  string // run in webhook mode against this URL (the test serves it)
	sandbox  sandbox.Config
	limits   bot.Limits
	tagEvery time.Duration
	logChat  int64
	// beforeRun is called once the bot exists, before it runs.
	beforeRun func(*harness)
	// reconcile answers /sync with a worker.Reconciler's pass, as serve
	// does.
	reconcile bool
	// sync, when set, answers /sync instead.
	sync func(ctx context.Context, by string) (string, error)
	// executors, when set, may wrap the bot's executors before the
	// workers get them (to lose an outcome after its effect, say).
	executors func(map[string]worker.Executor)
	// registry, when set, receives the bot's metrics.
	registry *prometheus.Registry
	// profileURL is KARMAGATE_PROFILE_URL.
	profileURL string
	// doorURL and doorWait are bot.Options.DoorURL and DoorWait.
	doorURL  string
	doorWait time.Duration
	// sharedClock runs the sandbox's world on the harness's clock too.
	sharedClock bool
	// workers is the worker pool's size; 16 by default.
	workers int
}

func newHarness(t testing.TB, spec string, o harnessOptions) *harness {
	t.Helper()
	if o.rules == "" {
		o.rules = testRules
	}
	if o.limits.PerPrivate == 0 {
		// The sandbox's strict window counts 1 s to the microsecond.
		o.limits.PerPrivate = 0.95
	}
	o.sandbox.NoMTProto = true
	clock := &clock{}
	if o.sharedClock {
		o.sandbox.Now = clock.Now
	}
	sb := sandboxtest.Start(t, o.sandbox)
	db := modelstest.MustOpen(t, spec)
	store := models.NewStore(db, modelstest.MustRules(t, o.rules), models.Options{Now: clock.Now})
	tokens, err := linking.NewTokens(linking.TokenOptions{Secret: secret, Store: store.Tokens(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, sb: sb, store: store, tokens: tokens, clock: clock, opts: o}
	h.start()
	return h
}

// start builds and runs the bot and the workers.
func (h *harness) start() {
	t, o, sb, store, clock, tokens := h.t, h.opts, h.sb, h.store, h.clock, h.tokens
	ctx, cancel := context.WithCancel(context.Background())
	h.ctx = ctx
	widget, err := linking.NewWidget(linking.WidgetOptions{BotToken: sb.BotToken(), Replay: store.Tokens(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var pool *worker.Pool
	var syncFn func(context.Context, string) (string, error)
	if o.reconcile {
		rec, err := worker.NewReconciler(worker.ReconcileOptions{Store: store, WakeWorkers: func() { pool.Wake() }, Now: clock.Now, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		syncFn = func(ctx context.Context, by string) (string, error) {
			rep, err := rec.Pass(ctx, "/sync", by)
			if err != nil {
				return "", err
			}
			return rep.String(), nil
		}
	}
	if o.sync != nil {
		syncFn = o.sync
	}
	bopts := bot.Options{Widget: widget, Sync: syncFn,
		Token: sb.BotToken(), ServerURL: sb.BotAPIURL(), Store: store, Tokens: tokens, Secret: secret,
		Admins: o.admins, WebhookURL: o.webhook, Now: clock.Now, PollTimeout: time.Second, Limits: o.limits, TagEvery: o.tagEvery, LogChat: o.logChat,
		WakeWorkers: func() { pool.Wake() }, Logger: testLogger(t), DoorURL: o.doorURL, DoorWait: o.doorWait, ProfileURL: o.profileURL,
	}
	if o.registry != nil {
		bopts.Registerer = o.registry
	}
	b, err := bot.New(ctx, bopts)
	if err != nil {
		cancel()
		t.Fatalf("bot: %v", err)
	}
	executors := b.Executors()
	if o.executors != nil {
		o.executors(executors)
	}
	pool = worker.New(worker.Options{Store: store, Executors: executors, Now: clock.Now, Poll: 50 * time.Millisecond, Workers: cmp.Or(o.workers, 16), Logger: testLogger(t)})
	h.bot, h.pool = b, pool
	if o.beforeRun != nil {
		o.beforeRun(h)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = b.Run(ctx) }()
	go func() { defer wg.Done(); _ = pool.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("bot and workers did not stop")
			}
		})
	}
	t.Cleanup(h.stop)
}

// restart stops the bot and workers and starts new ones on the same
// store and sandbox, as a restarted process would.
func (h *harness) restart() *harness {
	h.stop()
	h2 := &harness{t: h.t, sb: h.sb, store: h.store, tokens: h.tokens, clock: h.clock, opts: h.opts}
	h2.start()
	return h2
}

// eventually polls cond until it holds, failing the test after 30 s.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	h.eventuallyWithin(30*time.Second, what, cond)
}

// eventuallyWithin is eventually with a limit of its own, for long stories
// on a loaded machine under the race detector.
func (h *harness) eventuallyWithin(limit time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// put creates or replaces a member.
func (h *harness) put(id string, karma int64, groups ...string) {
	h.t.Helper()
	h.putMember(models.MemberInput{ID: id, Karma: karma, Groups: groups})
}

func (h *harness) putMember(in models.MemberInput) {
	h.t.Helper()
	if err := in.Normalize(h.store.Rules()); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.store.PutMember(h.ctx, in, "test"); err != nil {
		h.t.Fatalf("put %s: %v", in.ID, err)
	}
	h.pool.Wake()
}

// person creates a sandbox user.
func (h *harness) person(first, username string) world.User {
	h.t.Helper()
	return sandboxtest.MustUser(h.t, h.sb, world.UserSpec{FirstName: first, Username: username})
}

// makeMember makes person a member linked to their account, straight in the
// store (strangers are answered once a minute; members always).
func (h *harness) makeMember(person world.User, id string) {
	h.t.Helper()
	h.put(id, 1, "customers")
	if _, err := h.store.LinkTelegram(h.ctx, id, person.ID, person.Username, "test"); err != nil {
		h.t.Fatalf("link %s: %v", id, err)
	}
}

// token issues a deep link for a member and returns its start parameter.
func (h *harness) token(member string) string {
	h.t.Helper()
	raw, _, err := h.bot.LinkURL(h.ctx, member)
	if err != nil {
		h.t.Fatalf("link url for %s: %v", member, err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		h.t.Fatal(err)
	}
	if u.Host != "t.me" || u.Path != "/"+sandbox.DefaultBotUsername {
		h.t.Fatalf("link url %q: want https://t.me/%s?start=…", raw, sandbox.DefaultBotUsername)
	}
	tok := u.Query().Get("start")
	if len(tok) == 0 || len(tok) > 64 || strings.Trim(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		h.t.Fatalf("start parameter %q is not 1-64 of A-Za-z0-9_-", tok)
	}
	return tok
}

// received returns the texts person got from the bot.
func (h *harness) received(userID int64) []string {
	var out []string
	for _, m := range h.sb.Received(userID) {
		if m.FromID == h.bot.ID() {
			out = append(out, m.Text)
		}
	}
	return out
}

// reply sends text to the bot as person and waits for the n-th message
// from the bot, returning it.
func (h *harness) reply(userID int64, text string) string {
	h.t.Helper()
	before := len(h.received(userID))
	if _, err := h.sb.SendMessage(userID, 0, text); err != nil {
		h.t.Fatalf("send %q: %v", text, err)
	}
	var got string
	h.eventually("the bot's answer to "+text, func() bool {
		r := h.received(userID)
		if len(r) > before {
			got = r[before]
			return true
		}
		return false
	})
	return got
}

// link links member to person through a deep link and returns the bot's
// answer.
func (h *harness) link(member string, person world.User) string {
	h.t.Helper()
	return h.reply(person.ID, "/start "+h.token(member))
}

// member reads a member.
func (h *harness) member(id string) *models.MemberView {
	h.t.Helper()
	v, err := h.store.FindMember(h.ctx, id)
	if err != nil {
		h.t.Fatalf("find %s: %v", id, err)
	}
	return v
}

func (h *harness) state(id, chat string) models.ChatState {
	h.t.Helper()
	for _, st := range h.member(id).Chats {
		if st.ChatKey == chat {
			return st
		}
	}
	h.t.Fatalf("%s has no state in %s", id, chat)
	return models.ChatState{}
}

// group makes owner create a supergroup by hand with the bot as admin,
// and bind it with /bind key code in the group, with a bind code a site
// admin issued.
func (h *harness) group(owner world.User, title, key string) world.Chat {
	h.t.Helper()
	c := sandboxtest.MustChat(h.t, h.sb, owner.ID, title)
	if _, err := h.sb.SendMessage(owner.ID, c.BotAPIID(), "/bind "+key+" "+h.bindCode(key)); err != nil {
		h.t.Fatal(err)
	}
	h.eventually(key+" bound with a join link", func() bool {
		row, err := h.store.ChatRow(h.ctx, key)
		return err == nil && row.TgChatID != nil && *row.TgChatID == c.BotAPIID() && row.JoinLink != nil
	})
	return c
}

func (h *harness) joinLink(key string) string {
	h.t.Helper()
	row, err := h.store.ChatRow(h.ctx, key)
	if err != nil || row.JoinLink == nil {
		h.t.Fatalf("join link of %s: %v", key, err)
	}
	return *row.JoinLink
}

// inChat lists the user ids Telegram has in a chat (members, admins).
func (h *harness) inChat(chatID int64) map[int64]bool {
	h.t.Helper()
	ms, err := h.sb.Members(chatID)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, m := range ms {
		switch m.Status {
		case world.StatusCreator, world.StatusAdministrator, world.StatusMember:
			out[m.User.ID] = true
		}
	}
	return out
}

// idle waits until the outbox holds nothing due and every update is
// processed.
func (h *harness) idle() {
	h.t.Helper()
	h.eventually("the outbox and the updates to settle", func() bool {
		as, err := h.store.Actions(h.ctx, "")
		if err != nil {
			return false
		}
		now := h.clock.Now()
		for _, a := range as {
			// An action handed back for the person's turn (a second or
			// so) is still to come; one put off for minutes is settled.
			if a.Status == models.ActionRunning || (a.Status == models.ActionPending && a.NotBefore.Before(now.Add(3*time.Second))) {
				return false
			}
		}
		u, err := h.store.UpdateCounts(h.ctx)
		return err == nil && u[models.UpdatePending] == 0 && u[models.UpdateRunning] == 0
	})
}

// testLogger logs through t when KARMAGATE_TEST_LOG is set.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("KARMAGATE_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// clock is the wall clock plus an offset a test may move forward: grace
// periods and token lifetimes pass at once while everything else keeps
// real time.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().UTC().Add(c.offset)
}

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}
