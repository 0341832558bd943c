package world

import "time"

// Message pacing as token buckets. Telegram publishes rates (about one
// message a second per chat, 20 a minute per group, 30 a second overall)
// and says it "may allow short bursts" above them: a bot that acknowledges
// a command and then answers it sends two messages to one chat within a
// second, and Telegram lets that through. Each limit is therefore a bucket
// of Limits.*Burst tokens refilled at the published rate; Limits.StrictPacing
// restores exact sliding windows.
//
// The buckets are kept in the GCRA form (a theoretical arrival time per
// bucket, in integer nanoseconds) rather than as floating-point token
// counts, so that a client that waits exactly the retry_after it was given
// always finds a token.

// bucket is one token bucket: burst tokens, one more every interval.
type bucket struct {
	key      string
	interval time.Duration
	burst    int
}

// wait is how long until b holds a token at now; 0 if it holds one.
func (l *limiter) bucketWait(b bucket, now time.Time) time.Duration {
	tat, ok := l.tats[b.key]
	if !ok || tat.Before(now) {
		tat = now
	}
	// A token is there when the backlog (tat - now) leaves room for one
	// more interval within the burst.
	return max(0, tat.Sub(now)-time.Duration(max(b.burst, 1)-1)*b.interval)
}

// take spends one token of b at now (bucketWait must have said 0).
func (l *limiter) take(b bucket, now time.Time) {
	tat, ok := l.tats[b.key]
	if !ok || tat.Before(now) {
		tat = now
	}
	l.tats[b.key] = tat.Add(b.interval)
}

// sendBuckets applies the message buckets to a bot sending to chatID: a
// token from each, or a 429 with retry_after computed from the emptiest
// one. It runs under w.mu, so checking every bucket and then spending is
// atomic.
func (w *World) sendBuckets(botID, chatID int64, group bool, now time.Time) *Error {
	lim := w.limits
	buckets := []bucket{
		{"pace_global:" + itoa(botID), perSecond(float64(lim.GlobalMsgPerSec)), lim.GlobalBurst},
		{"pace_chat:" + itoa(botID) + ":" + itoa(chatID), perSecond(lim.PerChatMsgPerSec), lim.PerChatBurst},
	}
	if group {
		buckets = append(buckets, bucket{"pace_group:" + itoa(botID) + ":" + itoa(chatID), time.Minute / time.Duration(max(1, lim.PerGroupMsgPerMin)), lim.PerGroupBurst})
	}
	l := &w.limiter
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tickLocked(now)
	var wait time.Duration
	for _, b := range buckets {
		wait = max(wait, l.bucketWait(b, now))
	}
	if wait > 0 {
		return TooManyRequests(wait)
	}
	for _, b := range buckets {
		l.take(b, now)
	}
	return nil
}

// perSecond is the interval between two events at rate events a second.
func perSecond(rate float64) time.Duration {
	if rate <= 0 {
		rate = 1
	}
	return time.Duration(float64(time.Second) / rate)
}
