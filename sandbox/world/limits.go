package world

import (
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets keyed by name, read on the world's clock.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	last    map[string]time.Time // for min-interval limits
}

func (l *limiter) init() {
	l.buckets = map[string]*rate.Limiter{}
	l.last = map[string]time.Time{}
}

// allow takes one token from the bucket key (created with limit and burst on
// first use) at now, or returns how long until one would be there.
func (l *limiter) allow(key string, limit rate.Limit, burst int, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		b = rate.NewLimiter(limit, burst)
		l.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if !r.OK() {
		return time.Hour
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// Allow takes a token from the bucket named key, allowing limit events per
// second with the given burst, on the world's clock. It returns 0 when the
// event may go ahead, or how long to wait. Both the Bot API and the MTProto
// server use it, so limits hold across the two.
func (w *World) Allow(key string, limit rate.Limit, burst int) time.Duration {
	if burst < 1 {
		burst = 1
	}
	return w.limiter.allow(key, limit, burst, w.now())
}

// AllowEvery is Allow for "n per interval" limits.
func (w *World) AllowEvery(key string, n int, per time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	return w.Allow(key, rate.Every(per/time.Duration(n)), n)
}

// FloodWait enforces Limits.FloodWait for an MTProto method called by an
// account: zero when the call may go ahead, else the FLOOD_WAIT to answer.
func (w *World) FloodWait(method string, accountID int64) time.Duration {
	min, ok := w.limits.FloodWait[method]
	if !ok || min <= 0 {
		return 0
	}
	key := method + ":" + itoa(accountID)
	now := w.now()
	l := &w.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.last[key]; ok {
		if wait := last.Add(min).Sub(now); wait > 0 {
			return wait
		}
	}
	l.last[key] = now
	return 0
}

// sendLimitLocked applies the message limits to a bot sending to chatID.
func (w *World) sendLimit(botID, chatID int64, group bool) *Error {
	now := w.now()
	lim := w.limits
	if wait := w.limiter.allow("msg_global:"+itoa(botID), rate.Limit(lim.GlobalMsgPerSec), lim.GlobalMsgPerSec, now); wait > 0 {
		return TooManyRequests(wait)
	}
	if wait := w.limiter.allow("msg_chat:"+itoa(botID)+":"+itoa(chatID), rate.Limit(lim.PerChatMsgPerSec), max(1, int(lim.PerChatMsgPerSec)), now); wait > 0 {
		return TooManyRequests(wait)
	}
	if group {
		per := lim.PerGroupMsgPerMin
		if wait := w.limiter.allow("msg_group:"+itoa(botID)+":"+itoa(chatID), rate.Every(time.Minute/time.Duration(per)), per, now); wait > 0 {
			return TooManyRequests(wait)
		}
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
