package models_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_OIDCLogins: a login is for an existing member, spent once,
// dead after its time, and of concurrent returns with one state exactly
// one gets the member; the verified phone is recorded only for the
// account the member is linked to, and erased with the member.
func TestStore_OIDCLogins(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		f.put(t, "alice", 150, "webmasters")
		hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

		if _, err := f.store.StartOIDCLogin(ctx, hash("x"), "nobody", time.Minute); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("login for an unknown member: %v", err)
		}
		if _, err := f.store.TakeOIDCLogin(ctx, hash("never")); !errors.Is(err, models.ErrLoginUnknown) {
			t.Fatalf("unknown state: %v", err)
		}
		if _, err := f.store.StartOIDCLogin(ctx, hash("a"), "alice", 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		if m, err := f.store.TakeOIDCLogin(ctx, hash("a")); err != nil || m != "alice" {
			t.Fatalf("first return: %q %v", m, err)
		}
		if _, err := f.store.TakeOIDCLogin(ctx, hash("a")); !errors.Is(err, models.ErrLoginUsed) {
			t.Fatalf("replayed return: %v", err)
		}
		if _, err := f.store.StartOIDCLogin(ctx, hash("late"), "alice", 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(10*time.Minute + time.Second)
		if _, err := f.store.TakeOIDCLogin(ctx, hash("late")); !errors.Is(err, models.ErrLoginExpired) {
			t.Fatalf("late return: %v", err)
		}

		if _, err := f.store.StartOIDCLogin(ctx, hash("racy"), "alice", 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		won, lost := 0, 0
		for range 8 {
			wg.Go(func() {
				_, err := f.store.TakeOIDCLogin(ctx, hash("racy"))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case errors.Is(err, models.ErrLoginUsed):
					lost++
				default:
					t.Errorf("concurrent return: %v", err)
				}
			})
		}
		wg.Wait()
		if won != 1 || lost != 7 {
			t.Fatalf("8 concurrent returns: %d got the member, %d refused; want 1 and 7", won, lost)
		}

		if err := f.store.SetVerifiedPhone(ctx, "alice", 4101, "+15550001111", "oidc"); !errors.Is(err, models.ErrAlreadyLinked) {
			t.Fatalf("phone for an account alice is not linked to: %v", err)
		}
		f.link(t, "alice", 4101)
		if err := f.store.SetVerifiedPhone(ctx, "alice", 4101, "15550001111", "oidc"); err == nil {
			t.Fatal("a phone without + accepted")
		}
		for _, p := range []string{"+15550001111", "+15550002222"} { // a second login updates it
			if err := f.store.SetVerifiedPhone(ctx, "alice", 4101, p, "oidc"); err != nil {
				t.Fatal(err)
			}
		}
		if p, at, err := f.store.VerifiedPhone(ctx, 4101); err != nil || p != "+15550002222" || at.IsZero() {
			t.Fatalf("verified phone: %q %v %v", p, at, err)
		}
		if _, err := f.store.EraseMember(ctx, "alice", "test"); err != nil {
			t.Fatal(err)
		}
		if p, _, err := f.store.VerifiedPhone(ctx, 4101); err != nil || p != "" {
			t.Fatalf("verified phone after erasure: %q %v", p, err)
		}
	})
}
