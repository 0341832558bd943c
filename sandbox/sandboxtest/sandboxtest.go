// Package sandboxtest helps other packages' tests run against the sandbox:
// a started sandbox stopped with the test, a fake clock to move by hand, and
// Must* helpers that fail the test on error.
package sandboxtest

import (
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/world"
)

// Start starts a sandbox on loopback ports and stops it when the test ends.
// The zero Config works; set NoMTProto for Bot API-only tests.
func Start(tb testing.TB, cfg sandbox.Config) *sandbox.Sandbox {
	tb.Helper()
	sb, err := sandbox.Start(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("sandboxtest: start: %v", err)
	}
	tb.Cleanup(func() {
		if err := sb.Close(); err != nil {
			tb.Errorf("sandboxtest: close: %v", err)
		}
	})
	return sb
}

// Clock is a fake clock for Config.Now, safe for concurrent use. The zero
// Clock starts at 2026-11-25 10:00 UTC.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	}
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// MustUser creates a person or fails the test.
func MustUser(tb testing.TB, sb *sandbox.Sandbox, spec world.UserSpec) world.User {
	tb.Helper()
	u, err := sb.CreateUser(spec)
	if err != nil {
		tb.Fatalf("sandboxtest: create user %+v: %v", spec, err)
	}
	return u
}

// MustChat has creator create a supergroup with the default bot as an
// admin (sandbox.DefaultBotRights), or fails the test.
func MustChat(tb testing.TB, sb *sandbox.Sandbox, creatorID int64, title string) world.Chat {
	tb.Helper()
	c, err := sb.CreateChat(creatorID, title, "")
	if err != nil {
		tb.Fatalf("sandboxtest: create chat: %v", err)
	}
	if err := sb.MakeAdmin(c.BotAPIID(), 0, nil); err != nil {
		tb.Fatalf("sandboxtest: make the bot an admin: %v", err)
	}
	c, _ = sb.World().Chat(c.ID)
	return c
}
