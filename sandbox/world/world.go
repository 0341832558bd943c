package world

import (
	"log/slog"
	"math/rand"
	"sync"
	"time"
)

// World is the one shared Telegram of a sandbox. Create it with New.
type World struct {
	opts   Options
	limits Limits
	now    func() time.Time
	log    *slog.Logger

	mu        sync.Mutex
	rng       *rand.Rand
	nextUser  int64
	nextBot   int64
	nextChan  int64
	users     map[int64]*user
	byPhone   map[string]int64
	byName    map[string]int64 // lower-case username → id
	byToken   map[string]int64
	chats     map[int64]*chat
	basics    map[int64]int64 // basic group id → the chat's channel id (basic.go)
	nextBasic int64
	links     map[string]*inviteLink   // hash → link
	privates  map[[2]int64]*private    // {bot, user} → dialog state
	msgs      map[msgKey][]stored      // per dialog or chat, oldest first, at most Options.MaxMessagesPerChat
	msgSeq    map[msgKey]int           // last message id per dialog or chat
	sent      uint64                   // messages ever sent: the next stored.seq
	talks     map[int64]map[int64]bool // user → the others they have private messages with
	codes     map[string]*loginCode
	adds      map[int64][]time.Time // account → times it added someone
	ext       extState              // keyboards, queries, guard bots (ext.go)

	limiter limiter
	faults  faults
	refuse  refusals // refusals on demand (refusals.go)
	calls   callLog
	events  eventBus
}

// New creates a world. The zero Options work.
func New(opts Options) *World {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxCalls <= 0 {
		opts.MaxCalls = 10000
	}
	if opts.MaxMessagesPerChat <= 0 {
		opts.MaxMessagesPerChat = 1000
	}
	w := &World{
		opts:      opts,
		limits:    opts.Limits.withDefaults(),
		now:       opts.Now,
		log:       opts.Logger,
		rng:       rand.New(rand.NewSource(opts.Seed)),
		nextUser:  4101,
		nextBot:   4101,
		nextChan:  1800000001,
		users:     map[int64]*user{},
		byPhone:   map[string]int64{},
		byName:    map[string]int64{},
		byToken:   map[string]int64{},
		chats:     map[int64]*chat{},
		basics:    map[int64]int64{},
		nextBasic: 4000000001,
		links:     map[string]*inviteLink{},
		privates:  map[[2]int64]*private{},
		msgs:      map[msgKey][]stored{},
		msgSeq:    map[msgKey]int{},
		talks:     map[int64]map[int64]bool{},
		codes:     map[string]*loginCode{},
		adds:      map[int64][]time.Time{},
	}
	w.limiter.init()
	w.faults.init()
	w.calls.max = opts.MaxCalls
	return w
}

// Now is the world's clock.
func (w *World) Now() time.Time { return w.now() }

// Limits are the limits in force, defaults filled in.
func (w *World) Limits() Limits { return w.limits }

// Seed is the seed the world was created with.
func (w *World) Seed() int64 { return w.opts.Seed }

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const urlsafe = alnum + "_-"

// randString draws n characters of alphabet; w.mu must be held.
func (w *World) randString(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[w.rng.Intn(len(alphabet))]
	}
	return string(b)
}

// randHash draws a non-zero access hash; w.mu must be held.
func (w *World) randHash() int64 {
	for {
		if h := w.rng.Int63(); h != 0 {
			return h
		}
	}
}
