package userbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/vault"
	"github.com/karmagate/karmagate/worker"
)

// Accounts is what the pool needs of the account store (models.Userbots):
// the small interfaces each part of the pool declares where it uses them,
// composed.
type Accounts interface {
	accountStore     // account.go
	waitStore        // account.go
	sessionStore     // client.go
	loginStore       // login.go
	leaseStore       // pool.go
	phoneImportStore // resolve.go
	peerStore        // members.go
	groupStore       // groups.go
}

var _ Accounts = (*models.Userbots)(nil)

// leaseStore holds each account to one instance under a lease, renewed
// while it runs and released when it stops.
type leaseStore interface {
	AcquireUserbot(ctx context.Context, id int64, owner string, ttl time.Duration) (bool, error)
	RenewUserbots(ctx context.Context, owner string, ttl time.Duration) ([]int64, error)
	ReleaseUserbot(ctx context.Context, owner string, id int64) error
}

// Store is what the executors need of karmagate's store.
type Store interface {
	Rules() *gate.Rules
	ChatRow(ctx context.Context, key string) (*models.ChatRow, error)
	ChatRows(ctx context.Context) ([]models.ChatRow, error)
	FindMember(ctx context.Context, id string) (*models.MemberView, error)
	RecordGroupCreated(ctx context.Context, key string, tgChatID, by int64, actor string) error
	SetChatBot(ctx context.Context, key string, b models.BotInChat) error
	RecordParticipants(ctx context.Context, key string, present, admins []int64, actor string) (models.Audit, error)
	QueueChatAction(ctx context.Context, kind, chat, reason string) (bool, error)
	WakeActions(ctx context.Context, kinds []string) error
	// QueueAuditPromote asks the bot to make the account that joined a
	// group for /audit on an admin that sees the members (auditjoin.go).
	QueueAuditPromote(ctx context.Context, chat string, tgUserID int64) error
}

// Action kinds the pool carries out.
const (
	// ActionCreateGroup creates the private supergroup of a gated chat that
	// has none, binds it and makes the bot its admin.
	ActionCreateGroup = "create_group"
	// ActionAudit lists a gated chat's participants and records them.
	ActionAudit = "audit"
)

// Failpoints name the places Options.Failpoint is called, for crash tests.
const (
	// FailAfterCreateChannel: channels.createChannel answered, nothing
	// recorded of the group yet.
	FailAfterCreateChannel = "after-create-channel"
)

// Telegram says which Telegram (or stand-in) the accounts talk to.
type Telegram struct {
	AppID   int    // TELEGRAM_API_ID
	AppHash string // TELEGRAM_API_HASH
	// DCAddr and ServerKey (PEM) point at an MTProto server other than
	// Telegram's: the sandbox (TELEGRAM_DC_ADDR, TELEGRAM_SERVER_KEY).
	DCAddr    string
	ServerKey []byte
}

// Options configures a Pool. Accounts, Vault and Telegram are required;
// Store is required for Run and the executors (logins, lists and logouts
// work without it). Every other field has a working zero value.
type Options struct {
	Accounts Accounts
	Store    Store
	Vault    *vault.Vault
	Telegram Telegram
	// BotUsername is the bot the pool makes admin of the groups it creates.
	BotUsername string
	// BotUsernameOf, when set, is asked for the bot's username instead
	// (serve learns it only once Telegram answers the bot's getMe).
	BotUsernameOf func() string
	// Owner names this instance in account leases; unique per process by
	// default.
	Owner string
	// Actor names the pool in the audit trail; "userbot" by default.
	Actor string
	// LeaseTTL is how long an account stays leased without a heartbeat
	// (30 s); another instance takes it after that.
	LeaseTTL time.Duration
	// Tick is how often the pool renews its leases, takes free accounts and
	// queues work (LeaseTTL/3).
	Tick time.Duration
	// CallTimeout bounds every Telegram call (30 s).
	CallTimeout time.Duration
	// Pace is the minimum interval between two calls of a method by one
	// account; DefaultPace when nil, none when empty.
	Pace map[string]time.Duration
	// AuditEvery is how often every gated chat is audited
	// (KARMAGATE_RECONCILE_EVERY, 6 h); negative turns periodic audits off.
	AuditEvery time.Duration
	// NoDirectAdds leaves every invite to the bot's links.
	NoDirectAdds bool
	// PhoneImport lets ResolvePhone import phones as contacts
	// (KARMAGATE_PHONE_IMPORT, off by default): Telegram bans accounts
	// that import numbers other than their owner's phone book.
	PhoneImport bool
	// PhoneImportsPerDay is each account's budget of phone imports in 24
	// hours when PhoneImport is on (DefaultPhoneImportsPerDay).
	PhoneImportsPerDay int
	// Failpoint, when set, is called at the named places (crash tests).
	Failpoint func(name string)
	// WakeWorkers is called when the pool queued or made due outbox actions.
	WakeWorkers func()
	Now         func() time.Time
	Logger      *slog.Logger
	// Debug logs gotd's protocol messages at debug level (noisy).
	Debug bool
}

// DefaultPace is the minimum interval per account for the methods Telegram
// flood-limits hard.
func DefaultPace() map[string]time.Duration {
	return map[string]time.Duration{
		"contacts.importContacts":  3 * time.Second,
		"contacts.resolvePhone":    3 * time.Second,
		"contacts.resolveUsername": time.Second,
		"channels.createChannel":   5 * time.Second,
		"channels.inviteToChannel": time.Second,
	}
}

func (o *Options) setDefaults() {
	if o.Owner == "" {
		o.Owner = worker.DefaultOwner()
	}
	if o.Actor == "" {
		o.Actor = "userbot"
	}
	if o.LeaseTTL <= 0 {
		o.LeaseTTL = 30 * time.Second
	}
	if o.Tick <= 0 {
		o.Tick = o.LeaseTTL / 3
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = 30 * time.Second
	}
	if o.Pace == nil {
		o.Pace = DefaultPace()
	}
	if o.PhoneImportsPerDay <= 0 {
		o.PhoneImportsPerDay = DefaultPhoneImportsPerDay
	}
	if o.AuditEvery == 0 {
		o.AuditEvery = 6 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Pool is the userbot pool. Create it with New; Run keeps its accounts
// connected.
type Pool struct {
	opts Options
	log  *slog.Logger
	kick chan struct{}

	// renewedAt is when the last renewal that the database confirmed
	// began (this host's monotonic clock): the accounts' leases hold until
	// at least renewedAt + LeaseTTL, and the clients run until a fifth of
	// that before (confirmedUntil). Only Run's goroutine uses it.
	renewedAt time.Time

	mu        sync.Mutex
	running   map[int64]*account
	lastAudit map[string]time.Time
	batches   map[batchKey]*batch
}

// New returns a pool. It does not connect: see Run.
func New(opts Options) (*Pool, error) {
	opts.setDefaults()
	if opts.Accounts == nil || opts.Vault == nil {
		return nil, errors.New("userbot: Accounts and Vault are required")
	}
	if opts.Telegram.AppID == 0 || opts.Telegram.AppHash == "" {
		return nil, errors.New("userbot: TELEGRAM_API_ID and TELEGRAM_API_HASH are required")
	}
	if _, err := opts.Telegram.clientOptions(); err != nil {
		return nil, err
	}
	return &Pool{
		opts: opts, log: opts.Logger.With("component", "userbot"), kick: make(chan struct{}, 1),
		running: map[int64]*account{}, lastAudit: map[string]time.Time{}, batches: map[batchKey]*batch{},
	}, nil
}

// Owner is the name this pool leases accounts under.
func (p *Pool) Owner() string { return p.opts.Owner }

// Kick makes Run look for accounts and work at once.
func (p *Pool) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Executors returns the pool's executors by action kind.
func (p *Pool) Executors() map[string]worker.Executor {
	return map[string]worker.Executor{
		ActionCreateGroup:      worker.ExecutorFunc(p.execCreateGroup),
		ActionAudit:            worker.ExecutorFunc(p.execAudit),
		models.ActionAuditJoin: worker.ExecutorFunc(p.execAuditJoin),
	}
}

// Run keeps the pool's accounts connected until ctx ends: it leases the
// ready accounts no other instance holds, renews its leases, starts one
// client per account, drops those it lost, and queues the creation of
// missing groups and the periodic audits. On return every client is
// stopped and every lease released.
func (p *Pool) Run(ctx context.Context) error {
	if p.opts.Store == nil {
		return errors.New("userbot: Run needs a Store")
	}
	t := time.NewTicker(p.opts.Tick)
	defer t.Stop()
	for {
		p.housekeep(ctx)
		// The clients stop when their lease is about to run out without a
		// renewal the database confirmed, even if a renewal hangs.
		var lapse <-chan time.Time
		var timer *time.Timer
		if !p.renewedAt.IsZero() && len(p.accounts()) > 0 {
			timer = time.NewTimer(time.Until(p.confirmedUntil()))
			lapse = timer.C
		}
		select {
		case <-ctx.Done():
			p.stopAll()
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := p.opts.Accounts.ReleaseUserbot(rctx, p.opts.Owner, 0); err != nil {
				p.log.Warn("release userbot leases", "err", err)
			}
			return nil
		case <-t.C:
		case <-p.kick:
		case <-lapse:
			p.lapse(ctx)
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// confirmedUntil is when the clients must have stopped unless a renewal
// is confirmed: a fifth of the lease before it ends.
func (p *Pool) confirmedUntil() time.Time {
	return p.renewedAt.Add(p.opts.LeaseTTL - p.opts.LeaseTTL/5)
}

// lapse stops every client: their lease could not be confirmed in time.
// Another instance may take the accounts once the lease ends, and two
// clients on one session are what Telegram answers AUTH_KEY_DUPLICATED to,
// killing the session for good.
func (p *Pool) lapse(ctx context.Context) {
	for _, a := range p.accounts() {
		p.log.WarnContext(ctx, "userbot lease could not be confirmed before it runs out; stopping its client", "userbot", a.id)
		p.stop(a)
	}
	p.renewedAt = time.Time{} // nothing runs: the next renewal may take its time
}

// housekeep is one round of Run's work.
func (p *Pool) housekeep(ctx context.Context) {
	o := &p.opts
	began := time.Now()
	// A renewal may take only until the lease must be confirmed.
	rctx, cancel := ctx, context.CancelFunc(func() {})
	if !p.renewedAt.IsZero() {
		rctx, cancel = context.WithDeadline(ctx, p.confirmedUntil())
	}
	held, err := o.Accounts.RenewUserbots(rctx, o.Owner, o.LeaseTTL)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		p.log.WarnContext(ctx, "renew userbot leases", "err", err)
		if !p.renewedAt.IsZero() && !time.Now().Before(p.confirmedUntil()) {
			p.lapse(ctx)
		}
		return
	}
	p.renewedAt = began
	holds := map[int64]bool{}
	for _, id := range held {
		holds[id] = true
	}
	for _, a := range p.accounts() {
		if !holds[a.id] {
			p.log.InfoContext(ctx, "userbot lease lost; stopping its client", "userbot", a.id)
			p.stop(a)
		}
	}
	rows, err := o.Accounts.ListUserbots(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "list userbots", "err", err)
		return
	}
	for i := range rows {
		r := &rows[i]
		if r.State != models.UserbotReady || p.account(r.ID) != nil {
			continue
		}
		ok, err := o.Accounts.AcquireUserbot(ctx, r.ID, o.Owner, o.LeaseTTL)
		if err != nil {
			p.log.WarnContext(ctx, "lease userbot", "userbot", r.ID, "err", err)
			continue
		}
		if ok {
			p.start(ctx, r)
		}
	}
	if _, err := o.Accounts.PruneLogins(ctx); err != nil {
		p.log.WarnContext(ctx, "prune expired logins", "err", err)
	}
	p.queueWork(ctx)
}

// queueWork queues the creation of every gated chat without a group, and
// the audits that are due, once an account is ready.
func (p *Pool) queueWork(ctx context.Context) {
	if len(p.ready()) == 0 {
		return
	}
	rows, err := p.opts.Store.ChatRows(ctx)
	if err != nil {
		p.log.WarnContext(ctx, "load chats", "err", err)
		return
	}
	now := p.opts.Now()
	queued := false
	for _, r := range rows {
		if r.TgChatID == nil {
			ok, err := p.opts.Store.QueueChatAction(ctx, ActionCreateGroup, r.ChatKey, "the rules name this chat and it has no Telegram group")
			if err != nil {
				p.log.WarnContext(ctx, "queue group creation", "chat", r.ChatKey, "err", err)
			}
			queued = queued || ok
			continue
		}
		if p.opts.AuditEvery < 0 {
			continue
		}
		p.mu.Lock()
		last, seen := p.lastAudit[r.ChatKey]
		due := !seen || now.Sub(last) >= p.opts.AuditEvery
		if due {
			p.lastAudit[r.ChatKey] = now
		}
		p.mu.Unlock()
		if !due {
			continue
		}
		ok, err := p.opts.Store.QueueChatAction(ctx, ActionAudit, r.ChatKey, "periodic audit of who is inside")
		if err != nil {
			p.log.WarnContext(ctx, "queue audit", "chat", r.ChatKey, "err", err)
		}
		queued = queued || ok
	}
	if queued {
		p.wakeWorkers()
	}
}

// accountReady makes the jobs waiting for an account due now.
func (p *Pool) accountReady(ctx context.Context) {
	if p.opts.Store == nil {
		return
	}
	if err := p.opts.Store.WakeActions(ctx, []string{ActionCreateGroup, ActionAudit}); err != nil {
		p.log.WarnContext(ctx, "wake userbot actions", "err", err)
	}
	p.Kick()
	p.wakeWorkers()
}

func (p *Pool) wakeWorkers() {
	if p.opts.WakeWorkers != nil {
		p.opts.WakeWorkers()
	}
}

func (p *Pool) account(id int64) *account {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running[id]
}

// accounts returns the running accounts in id order.
func (p *Pool) accounts() []*account {
	p.mu.Lock()
	out := make([]*account, 0, len(p.running))
	for _, a := range p.running {
		out = append(out, a)
	}
	p.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// ready returns the running accounts that are connected and usable.
func (p *Pool) ready() []*account {
	var out []*account
	for _, a := range p.accounts() {
		if a.isReady() {
			out = append(out, a)
		}
	}
	return out
}

// WaitReady waits until n accounts of this instance are ready, or ctx ends.
func (p *Pool) WaitReady(ctx context.Context, n int) error {
	for {
		if len(p.ready()) >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %d userbot accounts: %w", n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stopAll stops every client.
func (p *Pool) stopAll() {
	for _, a := range p.accounts() {
		p.stop(a)
	}
}
