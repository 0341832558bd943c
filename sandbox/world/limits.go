package world

import (
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a set of token buckets keyed by name, read on the world's clock.
// Keys whose limit has lapsed are swept out now and then (sweep), so the
// maps hold only the keys still limiting something, however many chats and
// accounts come and go.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	last    map[string]interval  // for min-interval limits
	windows map[string]*window   // for n-per-window limits
	tats    map[string]time.Time // token buckets' theoretical arrival times (pacing.go)
	ops     int                  // calls since the last sweep
}

// interval is the last allowed call of a min-interval limit.
type interval struct {
	at    time.Time
	every time.Duration
}

// window is the events in the current span of an n-per-span limit.
type window struct {
	per time.Duration
	ts  []time.Time
}

func (l *limiter) init() {
	l.buckets = map[string]*rate.Limiter{}
	l.last = map[string]interval{}
	l.windows = map[string]*window{}
	l.tats = map[string]time.Time{}
	l.ops = 0
}

// tickLocked counts a call and sweeps once the calls since the last sweep
// reach the number of keys: amortised O(1) per call.
func (l *limiter) tickLocked(now time.Time) {
	l.ops++
	if l.ops < max(64, len(l.buckets)+len(l.last)+len(l.windows)+len(l.tats)) {
		return
	}
	l.ops = 0
	for k, w := range l.windows {
		if len(w.ts) == 0 || !w.ts[len(w.ts)-1].Add(w.per).After(now) {
			delete(l.windows, k)
		}
	}
	for k, iv := range l.last {
		if !iv.at.Add(iv.every).After(now) {
			delete(l.last, k)
		}
	}
	for k, tat := range l.tats {
		if !tat.After(now) {
			delete(l.tats, k) // the bucket is full again
		}
	}
	for k, b := range l.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(l.buckets, k) // full again: a new bucket is the same
		}
	}
}

// keys counts the keys held, for tests.
func (l *limiter) keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets) + len(l.last) + len(l.windows) + len(l.tats)
}

// window admits at most n events in any span of length per ("20 per
// minute"), or returns how long until the oldest one leaves the window.
func (l *limiter) window(key string, n int, per time.Duration, now time.Time) time.Duration {
	return l.inWindow(key, n, per, now, true)
}

// peek is window without counting the event.
func (l *limiter) peek(key string, n int, per time.Duration, now time.Time) time.Duration {
	return l.inWindow(key, n, per, now, false)
}

// inWindow is window (count) or peek (!count): it drops the events that
// have left the window, then answers.
func (l *limiter) inWindow(key string, n int, per time.Duration, now time.Time, count bool) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tickLocked(now)
	w := l.windows[key]
	if w == nil {
		if !count {
			return 0
		}
		w = &window{}
		l.windows[key] = w
	}
	w.per = per
	ts := w.ts
	i := 0
	for i < len(ts) && !ts[i].Add(per).After(now) {
		i++
	}
	ts = ts[i:]
	if len(ts) >= n {
		w.ts = ts
		return ts[len(ts)-n].Add(per).Sub(now)
	}
	if count {
		ts = append(ts, now)
	}
	w.ts = ts
	return 0
}

// allow takes one token from the bucket key (created with limit and burst on
// first use) at now, or returns how long until one would be there.
func (l *limiter) allow(key string, limit rate.Limit, burst int, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tickLocked(now)
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

// AllowWindow admits at most n events named key in any span of length per
// on the world's clock ("20 per minute"): 0 when the event may go ahead,
// else how long until it may.
func (w *World) AllowWindow(key string, n int, per time.Duration) time.Duration {
	if n < 1 {
		n = 1
	}
	return w.limiter.window(key, n, per, w.now())
}

// FloodWait enforces Limits.FloodWait for an MTProto method called by an
// account: zero when the call may go ahead, else the FLOOD_WAIT to answer.
func (w *World) FloodWait(method string, accountID int64) time.Duration {
	every, ok := w.limits.FloodWait[method]
	if !ok || every <= 0 {
		return 0
	}
	key := method + ":" + itoa(accountID)
	now := w.now()
	l := &w.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tickLocked(now)
	if last, ok := l.last[key]; ok {
		if wait := last.at.Add(every).Sub(now); wait > 0 {
			return wait
		}
	}
	l.last[key] = interval{at: now, every: every}
	return 0
}

// windowLimit is "n events per span" on one key.
type windowLimit struct {
	key string
	n   int
	per time.Duration
}

// sendLimit applies the message limits to a bot sending to chatID. It runs
// under w.mu, so checking all limits and then counting is atomic.
func (w *World) sendLimit(botID, chatID int64, group bool) *Error {
	now := w.now()
	lim := w.limits
	if !lim.StrictPacing {
		return w.sendBuckets(botID, chatID, group, now)
	}
	perChat := max(1, int(lim.PerChatMsgPerSec))
	limits := []windowLimit{
		{"msg_global:" + itoa(botID), lim.GlobalMsgPerSec, time.Second},
		{"msg_chat:" + itoa(botID) + ":" + itoa(chatID), perChat, time.Duration(float64(perChat) / lim.PerChatMsgPerSec * float64(time.Second))},
	}
	if group {
		limits = append(limits, windowLimit{"msg_group:" + itoa(botID) + ":" + itoa(chatID), lim.PerGroupMsgPerMin, time.Minute})
	}
	var wait time.Duration
	for _, c := range limits {
		wait = max(wait, w.limiter.peek(c.key, c.n, c.per, now))
	}
	if wait > 0 {
		return TooManyRequests(wait)
	}
	for _, c := range limits {
		w.limiter.window(c.key, c.n, c.per, now)
	}
	return nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
