package bot

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tgbot "github.com/go-telegram/bot"
	tgmodels "github.com/go-telegram/bot/models"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/lease"
	"github.com/karmagate/karmagate/linking"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/worker"
)

// Store is what the bot needs of karmagate's storage (*models.Store): the
// small interfaces each part of the bot declares where it uses them,
// composed, and the rules and leases it is wired with.
type Store interface {
	Rules() *gate.Rules
	// Leases are the named leases: the poller's, /sync's, a join link's.
	Leases() *lease.Leases

	updateQueue       // intake.go
	memberStore       // link.go
	linkStore         // link.go
	relinkStore       // relink.go
	membershipStore   // seen.go
	chatStore         // chat.go
	bindStore         // setup.go
	personalLinkStore // execute.go
	tagStore          // tags.go
	dryRunStore       // dryrun.go
	strangerStore     // strangers.go
	peopleStore       // people.go
	auditStore        // audit.go
	noticeStore       // send.go
	replyStore        // throttle.go
	adminStore        // admin.go
	doorStore         // door.go
	ReachStore        // unreachable.go
	MigrateStore      // migrate.go
}

var _ Store = (*models.Store)(nil)

// Options configures a Bot. Token, Store and Tokens are required; every
// other field has a working zero value.
type Options struct {
	Token string
	// ServerURL is the Bot API server (TELEGRAM_BOT_API_URL); Telegram's by
	// default.
	ServerURL string
	// HTTPClient makes every call; one with sensible timeouts by default.
	HTTPClient *http.Client
	Store      Store
	// Tokens issues and consumes deep-link tokens.
	Tokens *linking.Tokens
	// Widget checks Telegram Login Widget payloads (LoginWidget); nil
	// turns the widget off.
	Widget *linking.Widget
	// Secret (KARMAGATE_SECRET) derives the webhook's secret token.
	Secret []byte
	// WebhookURL, when set, makes Telegram post updates there; empty means
	// long polling.
	WebhookURL string
	// Admins are Telegram users allowed to bind chats without a bind
	// code, run /sync, and run admin commands about every chat
	// (KARMAGATE_ADMINS); they are told of every bind and unbind.
	Admins []int64
	// LogChat is a private chat the bot administers, used to resolve phone
	// numbers with sendContact (KARMAGATE_LOG_CHAT); 0: not used.
	LogChat int64
	Limits  Limits
	// Owner names this instance in update leases.
	Owner string
	// Workers is how many updates are processed at once; 16 by default.
	Workers int
	// TagEvery is how often member tags are brought up to date; 30 s by
	// default.
	TagEvery time.Duration
	// PollTimeout is getUpdates' long-poll timeout; 25 s by default.
	PollTimeout time.Duration
	// Sync, when set, runs a full reconcile pass for /sync and returns its
	// report (worker.Reconciler); without it /sync re-plans every member.
	Sync func(ctx context.Context, by string) (string, error)
	// PollLease is how long the instance elected to poll getUpdates holds
	// the poller lease without renewing it (it renews a few times per
	// lease): after a crash, another instance polls within about this
	// long. 15 s by default.
	PollLease time.Duration
	// Leases, when set, replaces Store.Leases() (tests: a lease client
	// whose database fails).
	Leases *lease.Leases
	// WakeWorkers, when set, is called when the bot queued outbox actions,
	// so that the worker pool looks at once.
	WakeWorkers func()
	// AfterStore, when set, runs after updates are stored and before they
	// are acknowledged or processed: a failpoint for crash tests.
	AfterStore func()
	// ProfileURL is the member's profile page on the website, where they
	// link their Telegram (KARMAGATE_PROFILE_URL); empty: not named.
	ProfileURL string
	// DoorURL is the Mini App a door: app chat shows at a join request
	// (KARMAGATE_PUBLIC_URL + /app/join); empty keeps every door silent.
	DoorURL string
	// DoorWait is how long a join request waits at the door for the person
	// to qualify before it is decided as it would have been at once; 10
	// minutes by default.
	DoorWait time.Duration
	// Texts overrides the built-in message texts (from the rules file).
	Texts map[string]map[string]string
	// ConnectLater lets New return when the Bot API cannot be reached
	// (after one getMe): Connect, which Run calls first, keeps trying.
	// A refused token fails New either way.
	ConnectLater bool
	Now          func() time.Time
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
}

func (o *Options) setDefaults() {
	if o.ServerURL == "" {
		o.ServerURL = "https://api.telegram.org"
	}
	o.ServerURL = strings.TrimRight(o.ServerURL, "/")
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Owner == "" {
		o.Owner = worker.DefaultOwner()
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.TagEvery <= 0 {
		o.TagEvery = 30 * time.Second
	}
	if o.PollTimeout <= 0 {
		o.PollTimeout = 25 * time.Second
	}
	if o.PollLease <= 0 {
		o.PollLease = 15 * time.Second
	}
	if o.DoorWait <= 0 {
		o.DoorWait = 10 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Bot is karmagate's Telegram bot.
type Bot struct {
	opts  Options
	store Store
	rules *gate.Rules
	c     *client
	me    tgmodels.User // set once, before ready
	log   *slog.Logger
	// ready is set once getMe answered; offline says why it has not.
	ready   atomic.Bool
	offline atomic.Pointer[string]
	texts   *texts

	// leases are the named leases: Options.Leases, or the store's.
	leases *lease.Leases

	webhookSecret string
	relinkKey     []byte // MACs the relink buttons (relink.go)
	admins        map[int64]bool
	wake          chan struct{}
	metrics       *botMetrics

	mu        sync.Mutex
	adminSeen map[adminKey]adminSeen // getChatMember answers, briefly cached
	linkLocks map[string]*sync.Mutex // one join link made at a time per chat
	adminCmds map[int64]bool         // site admins shown their commands
	syncing   *syncRun               // the /sync pass running, if any
	seen      *seenCache             // who was recorded seen in a group lately (seen.go)
	// noEphemeral: chats that refused an ephemeral message, until when
	// the bot answers there by DM (ephemeral.go).
	noEphemeral map[int64]time.Time
}

// client is the Bot API client: go-telegram/bot for the methods it has,
// call for the rest, both paced by the sender.
type client struct {
	tg    *tgbot.Bot
	http  *http.Client
	base  string // server + "/bot" + token + "/"
	token string
	send  *Sender
	// onMigrate follows a basic group Telegram upgraded (migrate.go).
	onMigrate func(ctx context.Context, fromID, toID int64) error
}

// New builds the bot and asks Telegram who it is (getMe), so that a wrong
// token or server fails here with a clear error.
func New(ctx context.Context, opts Options) (*Bot, error) {
	opts.setDefaults()
	if opts.Store == nil || opts.Tokens == nil || opts.Token == "" {
		return nil, errors.New("bot: Token, Store and Tokens are required")
	}
	tg, err := tgbot.New(opts.Token,
		tgbot.WithServerURL(opts.ServerURL),
		tgbot.WithHTTPClient(opts.PollTimeout, opts.HTTPClient),
		tgbot.WithSkipGetMe(),
		tgbot.WithErrorsHandler(func(err error) { opts.Logger.Warn("telegram client", "err", redactToken(err, opts.Token)) }),
	)
	if err != nil {
		return nil, fmt.Errorf("bot: %w", err)
	}
	b := &Bot{
		opts:  opts,
		store: opts.Store,
		rules: opts.Store.Rules(),
		c: &client{tg: tg, http: opts.HTTPClient, base: opts.ServerURL + "/bot" + opts.Token + "/", token: opts.Token,
			send: NewSender(opts.Limits)},
		log:       opts.Logger.With("component", "bot"),
		admins:    map[int64]bool{},
		wake:      make(chan struct{}, 1),
		adminSeen: map[adminKey]adminSeen{},
		seen:      newSeenCache(),
		metrics:   newBotMetrics(opts.Registerer),
	}
	b.c.onMigrate = b.followMigration
	if b.leases = opts.Leases; b.leases == nil {
		b.leases = opts.Store.Leases()
	}
	b.texts, err = newTexts(opts.Texts)
	if err != nil {
		return nil, fmt.Errorf("bot: texts: %w", err)
	}
	for _, id := range opts.Admins {
		b.admins[id] = true
	}
	if len(opts.Secret) > 0 {
		key, err := hkdf.Key(sha256.New, opts.Secret, nil, "karmagate webhook secret", 32)
		if err != nil {
			return nil, fmt.Errorf("bot: derive webhook secret: %w", err)
		}
		b.webhookSecret = hex.EncodeToString(key)
		if b.relinkKey, err = hkdf.Key(sha256.New, opts.Secret, nil, "karmagate relink buttons v1", 32); err != nil {
			return nil, fmt.Errorf("bot: derive relink key: %w", err)
		}
	} else {
		// Without a master secret the buttons hold for this process only.
		b.relinkKey = make([]byte, 32)
		if _, err := rand.Read(b.relinkKey); err != nil {
			return nil, fmt.Errorf("bot: relink key: %w", err)
		}
	}
	if opts.ConnectLater {
		if err := b.connectOnce(ctx); errors.Is(err, ErrTokenRefused) {
			return nil, err
		} else if err != nil {
			b.log.WarnContext(ctx, "Telegram's Bot API unreachable; retrying in the background", "err", err)
		}
		return b, nil
	}
	me, err := b.getMe(ctx)
	if err != nil {
		return nil, err
	}
	b.me = me
	b.ready.Store(true)
	return b, nil
}

func (b *Bot) getMe(ctx context.Context) (tgmodels.User, error) {
	var me tgmodels.User
	for attempt := 1; ; attempt++ {
		u, err := b.c.tg.GetMe(ctx)
		if err == nil {
			return *u, nil
		}
		if ae := apiErrorOf(err); ae != nil && (ae.Code == http.StatusUnauthorized || ae.Code == http.StatusNotFound) {
			return me, fmt.Errorf("the Bot API at %s refused the bot token (%s): check TELEGRAM_BOT_TOKEN", b.opts.ServerURL, ae.Description)
		}
		if attempt == 5 || ctx.Err() != nil {
			return me, fmt.Errorf("reach the Bot API at %s: %w", b.opts.ServerURL, redactToken(err, b.opts.Token))
		}
		b.log.WarnContext(ctx, "getMe failed; retrying", "attempt", attempt, "err", redactToken(err, b.opts.Token))
		if err := sleep(ctx, time.Duration(attempt)*time.Second); err != nil {
			return me, err
		}
	}
}

// Username is the bot's @username, without the @.
// "" until Telegram answered getMe (Connected).
func (b *Bot) Username() string {
	if !b.ready.Load() {
		return ""
	}
	return b.me.Username
}

// ID is the bot's Telegram user id.
// 0 until Telegram answered getMe (Connected).
func (b *Bot) ID() int64 {
	if !b.ready.Load() {
		return 0
	}
	return b.me.ID
}

// WebhookSecret is the secret token Telegram sends with every webhook
// delivery (derived from the master secret).
func (b *Bot) WebhookSecret() string { return b.webhookSecret }

// LinkURL issues a fresh deep link for a member (api.Linker). Used by
// another Telegram account than the one the member is linked to, it moves
// nothing until that account confirms.
func (b *Bot) LinkURL(ctx context.Context, memberID string) (string, time.Time, error) {
	return b.linkURL(ctx, memberID, false)
}

// ReplaceLinkURL issues a deep link that moves the member to the account
// that uses it even when linked to another, without asking that one
// (which is told): POST /api/v1/members/{id}/link {"replace": true}, for
// an old account that is lost, blocked the bot or does not answer.
func (b *Bot) ReplaceLinkURL(ctx context.Context, memberID string) (string, time.Time, error) {
	return b.linkURL(ctx, memberID, true)
}

func (b *Bot) linkURL(ctx context.Context, memberID string, replace bool) (string, time.Time, error) {
	v, err := b.store.FindMember(ctx, memberID)
	if err != nil {
		return "", time.Time{}, err
	}
	var expect linking.TelegramUser
	if v.Member.Username != nil {
		expect.Username = *v.Member.Username
	}
	issue := b.opts.Tokens.Issue
	if replace {
		issue = b.opts.Tokens.IssueReplace
	}
	if !b.ready.Load() {
		return "", time.Time{}, ErrNotConnected
	}
	tok, exp, err := issue(ctx, memberID, expect)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("issue link token: %w", err)
	}
	return linking.URL(b.me.Username, tok), exp, nil
}

// allowedUpdates are the updates the bot asks for; chat_member must be
// named or Telegram does not send it.
var allowedUpdates = []string{
	tgmodels.AllowedUpdateMessage, tgmodels.AllowedUpdateCallbackQuery, tgmodels.AllowedUpdateChatMember,
	tgmodels.AllowedUpdateMyChatMember, tgmodels.AllowedUpdateChatJoinRequest,
}

// Run receives and processes updates and keeps the chats' join links until
// ctx ends. It sets the webhook (or deletes it and polls), registers the
// commands, and returns after its loops have stopped.
func (b *Bot) Run(ctx context.Context) error {
	if err := b.Connect(ctx); err != nil {
		return err
	}
	if err := b.setCommands(ctx); err != nil {
		b.log.WarnContext(ctx, "could not register the bot's commands; it works without them", "err", err)
	}
	for wait := time.Second; ; wait = min(2*wait, connectBackoff) {
		err := b.setTransport(ctx)
		if err == nil {
			break
		}
		if ae := apiErrorOf(err); ae != nil && ae.Code != http.StatusTooManyRequests && ae.Code < 500 || ctx.Err() != nil {
			return err // a refusal (a webhook URL Telegram will not take) is for the owner to mend
		}
		b.log.WarnContext(ctx, "could not set the update transport; retrying", "retry_in", wait, "err", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	run := func(name string, fn func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(ctx)
			b.log.Debug("loop stopped", "loop", name)
		}()
	}
	if b.opts.WebhookURL == "" {
		run("poll", b.poll)
	}
	run("process", b.process)
	run("maintain", b.maintain)
	run("tags", b.keepTags)
	wg.Wait()
	return nil
}

// setTransport points Telegram at the webhook, or removes any webhook so
// that getUpdates works.
func (b *Bot) setTransport(ctx context.Context) error {
	if b.opts.WebhookURL == "" {
		if _, err := b.c.tg.DeleteWebhook(ctx, &tgbot.DeleteWebhookParams{}); err != nil {
			return fmt.Errorf("delete webhook for long polling: %w", redactToken(err, b.opts.Token))
		}
		return nil
	}
	_, err := b.c.tg.SetWebhook(ctx, &tgbot.SetWebhookParams{
		URL:            b.opts.WebhookURL,
		SecretToken:    b.webhookSecret,
		AllowedUpdates: allowedUpdates,
		MaxConnections: 40,
	})
	if err != nil {
		return fmt.Errorf("set webhook %s: %w", b.opts.WebhookURL, redactToken(err, b.opts.Token))
	}
	b.log.InfoContext(ctx, "webhook set", "url", b.opts.WebhookURL)
	return nil
}

// Wake tells the processor stored updates are waiting.
func (b *Bot) Wake() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// isSiteAdmin reports whether a Telegram user is in KARMAGATE_ADMINS.
func (b *Bot) isSiteAdmin(id int64) bool { return b.admins[id] }
