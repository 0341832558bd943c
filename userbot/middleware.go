package userbot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/telegram"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
)

// methodName is the MTProto method of a request, e.g.
// "channels.createChannel".
func methodName(input bin.Encoder) string {
	if t, ok := input.(interface{ TypeName() string }); ok {
		return t.TypeName()
	}
	return "unknown"
}

// deadline gives every call a deadline of at most d.
func deadline(d time.Duration) telegram.Middleware {
	return telegram.MiddlewareFunc(func(next tg.Invoker) telegram.InvokeFunc {
		return func(ctx context.Context, input bin.Encoder, output bin.Decoder) error {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next.Invoke(ctx, input, output)
		}
	})
}

// limits is one account's flood waits and pacing, by method.
type limits struct {
	id     int64
	now    func() time.Time
	pace   map[string]time.Duration
	record func(method string, until time.Time) // persists a flood wait

	// serial holds one lock per flood-limited method: one call of it at a
	// time per account, so that a second call learns of the first's
	// FLOOD_WAIT instead of racing it to Telegram.
	serial map[string]*sync.Mutex

	mu    sync.Mutex
	waits map[string]time.Time // FLOOD_WAIT: not before
	next  map[string]time.Time // pacing: not before
}

func newLimits(id int64, now func() time.Time, pace map[string]time.Duration, record func(string, time.Time)) *limits {
	l := &limits{id: id, now: now, pace: pace, record: record, waits: map[string]time.Time{}, next: map[string]time.Time{}, serial: map[string]*sync.Mutex{}}
	for m := range DefaultPace() {
		l.serial[m] = &sync.Mutex{}
	}
	for m := range pace {
		l.serial[m] = &sync.Mutex{}
	}
	return l
}

// until is when the account may next call method (zero: now).
func (l *limits) until(method string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var t time.Time
	if w, ok := l.waits[method]; ok && w.After(now) {
		t = w
	}
	if n, ok := l.next[method]; ok && n.After(now) && n.After(t) {
		t = n
	}
	return t
}

// block records that method may not be called before until.
func (l *limits) block(method string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.waits[method]) {
		l.waits[method] = until
	}
}

// floodWaits is the flood-wait middleware: a call of a method the account
// must still wait for is refused here, without reaching Telegram; a
// FLOOD_WAIT_X answer blocks the method for exactly X and is recorded.
func floodWaits(l *limits) telegram.Middleware {
	return telegram.MiddlewareFunc(func(next tg.Invoker) telegram.InvokeFunc {
		return func(ctx context.Context, input bin.Encoder, output bin.Decoder) error {
			method := methodName(input)
			if mu := l.serial[method]; mu != nil {
				mu.Lock()
				defer mu.Unlock()
			}
			l.mu.Lock()
			w, blocked := l.waits[method]
			l.mu.Unlock()
			if blocked && w.After(l.now()) {
				return &waitError{Account: l.id, Method: method, Until: w, Err: errors.New("flood wait not over")}
			}
			err := next.Invoke(ctx, input, output)
			if d, ok := tgerr.AsFloodWait(err); ok {
				until := l.now().Add(d)
				l.block(method, until)
				if l.record != nil {
					l.record(method, until)
				}
				return &waitError{Account: l.id, Method: method, Until: until, Err: err}
			}
			return err
		}
	})
}

// pacing is the rate-limit middleware: at most one call of a paced method
// per interval and account. A call due within maxInline waits for its
// turn; a later one is refused with the time it may go.
func pacing(l *limits, maxInline time.Duration) telegram.Middleware {
	return telegram.MiddlewareFunc(func(next tg.Invoker) telegram.InvokeFunc {
		return func(ctx context.Context, input bin.Encoder, output bin.Decoder) error {
			method := methodName(input)
			every, ok := l.pace[method]
			if !ok || every <= 0 {
				return next.Invoke(ctx, input, output)
			}
			l.mu.Lock()
			now := l.now()
			at := l.next[method]
			if at.Before(now) {
				at = now
			}
			if wait := at.Sub(now); wait > maxInline {
				l.mu.Unlock()
				return &waitError{Account: l.id, Method: method, Until: at, Err: errors.New("paced")}
			}
			l.next[method] = at.Add(every)
			l.mu.Unlock()
			if wait := at.Sub(now); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return ctx.Err()
				case <-t.C:
				}
			}
			return next.Invoke(ctx, input, output)
		}
	})
}

// accountGuard reports errors that take the account out of the pool
// (AUTH_KEY_UNREGISTERED, frozen, deactivated) to lost, which decides.
func accountGuard(id int64, lost func(state string, err error)) telegram.Middleware {
	return telegram.MiddlewareFunc(func(next tg.Invoker) telegram.InvokeFunc {
		return func(ctx context.Context, input bin.Encoder, output bin.Decoder) error {
			err := next.Invoke(ctx, input, output)
			if st := accountState(err); st != "" {
				lost(st, err)
				return &lostError{Account: id, State: st, Err: err}
			}
			return err
		}
	})
}

// onceMethods are the methods whose effect must not happen twice: a second
// group created by a resend.
var onceMethods = map[string]bool{"channels.createChannel": true}

// errConnLost means the connection died while a call was in flight: it may
// or may not have been carried out.
var errConnLost = errors.New("connection lost while the call was in flight; its outcome is unknown")

// onceOnly keeps gotd from sending a call of onceMethods again on a new
// connection: the call fails with errConnLost when its connection dies, and
// the caller looks for its effect.
func onceOnly(a *account) telegram.Middleware {
	return telegram.MiddlewareFunc(func(next tg.Invoker) telegram.InvokeFunc {
		return func(ctx context.Context, input bin.Encoder, output bin.Decoder) error {
			if !onceMethods[methodName(input)] {
				return next.Invoke(ctx, input, output)
			}
			ctx, cancel := context.WithCancelCause(ctx)
			defer cancel(nil)
			a.mu.Lock()
			if a.inflight == nil {
				a.inflight = map[int]context.CancelCauseFunc{}
			}
			a.seq++
			id := a.seq
			a.inflight[id] = cancel
			a.mu.Unlock()
			defer func() {
				a.mu.Lock()
				delete(a.inflight, id)
				a.mu.Unlock()
			}()
			err := next.Invoke(ctx, input, output)
			if err != nil && errors.Is(context.Cause(ctx), errConnLost) {
				return fmt.Errorf("%w: %v", errConnLost, err)
			}
			return err
		}
	})
}
