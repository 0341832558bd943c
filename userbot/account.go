package userbot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gotd/td/telegram"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/models"
)

// accountStore holds the pool's accounts and their standing: lost, how
// many channels they are in, stopped from adding people.
type accountStore interface {
	Userbot(ctx context.Context, id int64) (*models.Userbot, error)
	ListUserbots(ctx context.Context) ([]models.Userbot, error)
	SetUserbotLost(ctx context.Context, id int64, state, reason, actor string) error
	SetChannels(ctx context.Context, id int64, channels, limit int) error
	SetPeerFlood(ctx context.Context, id int64, actor string) error
}

// waitStore keeps the flood waits Telegram set each account, by method,
// so that they outlive a restart.
type waitStore interface {
	SetWait(ctx context.Context, id int64, method string, until time.Time) error
	Waits(ctx context.Context, id int64) ([]models.UserbotWait, error)
}

// account is one logged-in account this instance holds: its client and
// what the pool tracks of it.
type account struct {
	id     int64
	p      *Pool
	log    *slog.Logger
	client *telegram.Client
	api    *tg.Client
	lim    *limits
	cancel context.CancelFunc
	ready  chan struct{} // closed once connected and looked around
	done   chan struct{} // closed when the client stopped

	mu        sync.Mutex
	self      *tg.User
	channels  int
	cap       int
	peerFlood bool
	lost      bool
	inflight  map[int]context.CancelCauseFunc // calls onceOnly guards
	seq       int
}

// start leases are held: connect the account's client in the background.
func (p *Pool) start(ctx context.Context, row *models.Userbot) {
	a := &account{
		id: row.ID, p: p, log: p.log.With("userbot", row.ID),
		ready: make(chan struct{}), done: make(chan struct{}),
		channels: row.Channels, cap: row.ChannelCap, peerFlood: row.PeerFloodAt != nil,
	}
	if a.cap <= 0 {
		a.cap = 500
	}
	a.lim = newLimits(row.ID, p.opts.Now, p.opts.Pace, func(method string, until time.Time) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.opts.Accounts.SetWait(ctx, row.ID, method, until); err != nil {
			a.log.Warn("record flood wait", "method", method, "err", err)
		}
	})
	if ws, err := p.opts.Accounts.Waits(ctx, row.ID); err == nil {
		for _, w := range ws {
			a.lim.block(w.Method, w.Until)
		}
	} else {
		a.log.WarnContext(ctx, "load flood waits", "err", err)
	}
	a.client = a.newClient()
	a.api = a.client.API()
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	p.mu.Lock()
	p.running[a.id] = a
	p.mu.Unlock()
	a.log.InfoContext(ctx, "userbot connecting")
	go a.run(actx)
}

// newClient is the account's client with its middlewares, outermost
// first.
func (a *account) newClient() *telegram.Client {
	return a.p.newClient(&dbSession{p: a.p, id: a.id}, a.connLost,
		deadline(a.p.opts.CallTimeout),
		onceOnly(a),
		accountGuard(a.id, a.lose),
		floodWaits(a.lim),
		pacing(a.lim, 2*time.Second),
	)
}

// connLost ends the calls in flight whose effect must not happen twice:
// gotd would send them again on the new connection when their
// acknowledgement was lost with the old one, and Telegram would carry them
// out twice. Their callers find out what happened instead.
func (a *account) connLost() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, cancel := range a.inflight {
		cancel(errConnLost)
	}
	clear(a.inflight)
}

// run runs the client until the account is stopped, restarting it after a
// failure unless the account left the pool.
func (a *account) run(ctx context.Context) {
	defer close(a.done)
	backoff := time.Second
	for ctx.Err() == nil {
		err := a.client.Run(ctx, func(ctx context.Context) error {
			if err := a.init(ctx); err != nil {
				return err
			}
			select {
			case <-a.ready:
			default:
				close(a.ready)
			}
			a.log.InfoContext(ctx, "userbot ready", "channels", a.channelCount(), "cap", a.channelCap())
			a.p.accountReady(ctx)
			<-ctx.Done()
			return ctx.Err()
		})
		if ctx.Err() != nil || a.isLost() {
			return
		}
		if st := accountState(err); st != "" {
			a.lose(st, err)
			return
		}
		a.log.WarnContext(ctx, "userbot client stopped; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
		a.client = a.newClient()
		a.mu.Lock()
		a.api = a.client.API()
		a.mu.Unlock()
	}
}

// init learns who the account is, its channel cap, and the supergroups it
// is in (their access hashes are stored).
func (a *account) init(ctx context.Context) error {
	api := a.tg()
	users, err := api.UsersGetUsers(ctx, []tg.InputUserClass{&tg.InputUserSelf{}})
	if err != nil {
		return fmt.Errorf("who am I: %w", err)
	}
	if len(users) != 1 {
		return errors.New("who am I: no answer")
	}
	self, ok := users[0].(*tg.User)
	if !ok {
		return errors.New("who am I: the account is gone")
	}
	if self.Deleted {
		a.lose(models.UserbotDeactivated, errors.New("the account was deleted"))
		return errors.New("account deleted")
	}
	a.mu.Lock()
	a.self = self
	a.mu.Unlock()
	limit := 0
	if cfg, err := api.HelpGetAppConfig(ctx, 0); err == nil {
		limit = channelLimit(cfg, self.Premium)
	} else if !isRPC(err) {
		return fmt.Errorf("read app config: %w", err)
	}
	n, err := a.syncDialogs(ctx)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.channels = n
	if limit > 0 {
		a.cap = limit
	}
	a.mu.Unlock()
	return a.p.opts.Accounts.SetChannels(ctx, a.id, n, limit)
}

// channelLimit reads the channel cap from help.getAppConfig.
func channelLimit(cfg tg.HelpAppConfigClass, premium bool) int {
	c, ok := cfg.(*tg.HelpAppConfig)
	if !ok {
		return 0
	}
	obj, ok := c.Config.(*tg.JSONObject)
	if !ok {
		return 0
	}
	key := "channels_limit_default"
	if premium {
		key = "channels_limit_premium"
	}
	for _, v := range obj.Value {
		if n, ok := v.Value.(*tg.JSONNumber); ok && v.Key == key {
			return int(n.Value)
		}
	}
	return 0
}

// syncDialogs walks the account's dialogs, stores the access hashes of
// its supergroups and channels, and counts them.
func (a *account) syncDialogs(ctx context.Context) (int, error) {
	count := 0
	var peers []models.UserbotPeer
	flush := func() error {
		err := a.p.opts.Accounts.SavePeers(ctx, peers)
		peers = peers[:0]
		return err
	}
	err := eachChannel(ctx, a.tg(), func(ch *tg.Channel) (bool, error) {
		if ch.Left {
			return false, nil
		}
		count++
		peers = append(peers, models.UserbotPeer{UserbotID: a.id, Kind: models.PeerChannel, PeerID: ch.ID, AccessHash: ch.AccessHash})
		if len(peers) == 100 {
			return false, flush()
		}
		return false, nil
	})
	if err != nil {
		return 0, err
	}
	return count, flush()
}

// tg is the account's API client.
func (a *account) tg() *tg.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.api
}

func (a *account) isReady() bool {
	select {
	case <-a.ready:
		return !a.isLost()
	default:
		return false
	}
}

func (a *account) isLost() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lost
}

func (a *account) userID() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.self == nil {
		return 0
	}
	return a.self.ID
}

func (a *account) channelCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.channels
}

func (a *account) channelCap() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cap
}

// lose takes the account out of the pool: Telegram ended its session,
// froze or deactivated it. Recorded once, with an audit event; the client
// stops.
func (a *account) lose(state string, cause error) {
	a.mu.Lock()
	if a.lost {
		a.mu.Unlock()
		return
	}
	a.lost = true
	a.mu.Unlock()
	a.log.Warn("userbot left the pool", "state", state, "err", cause)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.p.opts.Accounts.SetUserbotLost(ctx, a.id, state, lostReason(cause), a.p.opts.Actor+":"+strconv.FormatInt(a.id, 10)); err != nil {
		a.log.Warn("record that the userbot left the pool", "err", err)
	}
	go a.p.stop(a)
}

// stop stops an account's client and forgets it.
func (p *Pool) stop(a *account) {
	p.mu.Lock()
	if p.running[a.id] == a {
		delete(p.running, a.id)
	}
	p.mu.Unlock()
	a.cancel()
	select {
	case <-a.done:
	case <-time.After(15 * time.Second):
		a.log.Warn("userbot client did not stop in time")
	}
}
