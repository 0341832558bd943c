package bot

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/karmagate/karmagate/worker"
)

// Limits are the paces the bot keeps to. The zero value takes Telegram's
// published limits, a little under, so that the bot never meets a 429 of
// its own making.
type Limits struct {
	// Messages per second over all chats (Telegram: about 30).
	Global rate.Limit
	// Messages per second to one private chat (Telegram: about 1).
	PerPrivate rate.Limit
	// Messages per second to one group (Telegram: 20 per minute).
	PerGroup rate.Limit
	// createChatInviteLink calls per second per chat (about 20 per minute).
	LinksPerChat rate.Limit
	// MaxWait is the longest a call waits for its chat's turn before the
	// work is handed back with the time to come again; 3 s by default.
	MaxWait time.Duration
}

func (l *Limits) setDefaults() {
	if l.Global <= 0 {
		l.Global = 29
	}
	if l.PerPrivate <= 0 {
		l.PerPrivate = 1
	}
	if l.PerGroup <= 0 {
		l.PerGroup = rate.Limit(19.0 / 60)
	}
	if l.LinksPerChat <= 0 {
		l.LinksPerChat = rate.Limit(19.0 / 60)
	}
	if l.MaxWait <= 0 {
		l.MaxWait = 3 * time.Second
	}
}

// Sender paces every call to Telegram: one bucket for all messages, one per
// chat, one per chat for invite links, and a chat's flood wait (429) that
// holds up that chat only. It uses the wall clock: Telegram's limits are in
// real time.
type Sender struct {
	lim    Limits
	global *rate.Limiter

	mu    sync.Mutex
	chats map[int64]*chatPace
	swept time.Time
}

type chatPace struct {
	msgs, links *rate.Limiter
	blocked     time.Time // a 429 said: nothing to this chat before then
	used        time.Time
}

// NewSender returns a sender keeping to lim.
func NewSender(lim Limits) *Sender {
	lim.setDefaults()
	return &Sender{lim: lim, global: rate.NewLimiter(lim.Global, 1), chats: map[int64]*chatPace{}}
}

// callKind is what a call counts against.
type callKind int

const (
	callOther   callKind = iota // approvals, bans, lookups: only 429s hold them up
	callMessage                 // a message to the chat: per chat and overall
	callLink                    // createChatInviteLink: per chat
)

// ErrFlood is the cause of a RetryError the sender returns for a chat in a
// flood wait or behind its pace.
var ErrFlood = errors.New("telegram flood limit: waiting for the chat's turn")

// wait blocks until a call of kind to chatID may go, or returns a
// *worker.RetryError when that is further away than MaxWait (the caller
// hands its work back until then), or ctx's error.
func (s *Sender) wait(ctx context.Context, chatID int64, kind callKind) error {
	now := time.Now()
	s.mu.Lock()
	p := s.pace(chatID, now)
	if p.blocked.After(now) {
		until := p.blocked
		s.mu.Unlock()
		if d := until.Sub(now); d > s.lim.MaxWait {
			return worker.RetryAt(until, ErrFlood)
		}
		if err := sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
		return s.wait(ctx, chatID, kind)
	}
	var r *rate.Reservation
	switch kind {
	case callMessage:
		r = p.msgs.ReserveN(now, 1)
	case callLink:
		r = p.links.ReserveN(now, 1)
	}
	s.mu.Unlock()
	delay := time.Duration(0)
	if r != nil {
		delay = r.DelayFrom(now)
		if delay > s.lim.MaxWait {
			r.CancelAt(now)
			return worker.RetryAt(now.Add(delay), ErrFlood)
		}
	}
	if err := sleep(ctx, delay); err != nil {
		if r != nil {
			r.Cancel()
		}
		return err
	}
	if kind == callMessage {
		return s.global.Wait(ctx)
	}
	return nil
}

// readyIn is how long until a message to chatID could go: a flood wait
// still running, or the chat's own pace. It reserves nothing.
func (s *Sender) readyIn(chatID int64) time.Duration {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.chats[chatID]
	if !ok {
		return 0
	}
	d := p.blocked.Sub(now)
	if tokens := p.msgs.TokensAt(now); tokens < 1 {
		d = max(d, time.Duration((1-tokens)/float64(p.msgs.Limit())*float64(time.Second)))
	}
	return max(d, 0)
}

// pace returns the chat's pace, creating it; s.mu is held.
func (s *Sender) pace(chatID int64, now time.Time) *chatPace {
	if now.Sub(s.swept) > time.Minute {
		s.sweep(now)
	}
	p, ok := s.chats[chatID]
	if !ok {
		per := s.lim.PerPrivate
		if chatID < 0 {
			per = s.lim.PerGroup
		}
		p = &chatPace{msgs: rate.NewLimiter(per, 1), links: rate.NewLimiter(s.lim.LinksPerChat, 1)}
		s.chats[chatID] = p
	}
	p.used = now
	return p
}

// sweep forgets chats idle for ten minutes (their buckets are full again
// by then), so the map stays as small as the set of active chats.
func (s *Sender) sweep(now time.Time) {
	s.swept = now
	for id, p := range s.chats {
		if now.Sub(p.used) > 10*time.Minute && !p.blocked.After(now) {
			delete(s.chats, id)
		}
	}
}

// flood records a 429 for chatID: nothing goes to it for d.
func (s *Sender) flood(chatID int64, d time.Duration) time.Time {
	until := time.Now().Add(d)
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pace(chatID, time.Now())
	if until.After(p.blocked) {
		p.blocked = until
	}
	return p.blocked
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
