package world

import "time"

// Message pacing. Telegram publishes rates (about one message a second per
// chat, 20 a minute per group, 30 a second overall) and says it "may allow
// short bursts" above them: a bot that acknowledges a command and then
// answers it sends two messages to one chat within a second, and Telegram
// lets that through. The per-chat and overall limits are therefore buckets
// of Limits.*Burst tokens refilled at the published rate. The group limit
// is what it says, 20 messages in any 60 seconds (a sliding window): twenty
// sent a second apart all go, the twenty-first waits until the first is a
// minute old. (A bucket of 3 refilled every 3 s refused the fifth of
// messages a second apart, which Telegram does not.) Limits.StrictPacing
// makes every limit an exact sliding window.
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
	groupKey := "msg_group:" + itoa(botID) + ":" + itoa(chatID)
	perGroup := max(1, lim.PerGroupMsgPerMin)
	var wait time.Duration
	if group {
		wait = w.limiter.peek(groupKey, perGroup, time.Minute, now)
	}
	l := &w.limiter
	l.mu.Lock()
	l.tickLocked(now)
	for _, b := range buckets {
		wait = max(wait, l.bucketWait(b, now))
	}
	if wait > 0 {
		l.mu.Unlock()
		return TooManyRequests(wait)
	}
	for _, b := range buckets {
		l.take(b, now)
	}
	l.mu.Unlock()
	if group {
		w.limiter.window(groupKey, perGroup, time.Minute, now)
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
