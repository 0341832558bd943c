package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_Leases: a named lease has one holder at a time; the holder
// renews it; another takes it only once it ran out or was released.
func TestStore_Leases(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		const ttl = 15 * time.Second
		steps := []struct {
			name    string
			advance time.Duration
			owner   string
			release bool
			want    bool
		}{
			{"the first takes it", 0, "a", false, true},
			{"another is refused", 0, "b", false, false},
			{"the holder renews", 10 * time.Second, "a", false, true},
			{"still refused before the renewed end", 10 * time.Second, "b", false, false},
			{"taken once it ran out", 6 * time.Second, "b", false, true},
			{"the old holder is refused", 0, "a", false, false},
			{"released by its holder", 0, "b", true, false},
			{"free at once after a release", 0, "a", false, true},
		}
		for _, s := range steps {
			f.clock.Advance(s.advance)
			if s.release {
				if err := f.store.ReleaseLease(ctx, "poller", "x"); err != nil {
					t.Fatalf("%s: release by a non-holder: %v", s.name, err)
				}
				if l, err := f.store.LeaseHolder(ctx, "poller"); err != nil || l.Owner != "b" {
					t.Fatalf("%s: a non-holder released the lease: %+v %v", s.name, l, err)
				}
				if err := f.store.ReleaseLease(ctx, "poller", s.owner); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if _, err := f.store.LeaseHolder(ctx, "poller"); !errors.Is(err, models.ErrNotFound) {
					t.Fatalf("%s: after release: %v", s.name, err)
				}
				continue
			}
			got, err := f.store.AcquireLease(ctx, "poller", s.owner, ttl)
			if err != nil || got != s.want {
				t.Fatalf("%s: AcquireLease(%s) = %v, %v; want %v", s.name, s.owner, got, err, s.want)
			}
			if got {
				l, err := f.store.LeaseHolder(ctx, "poller")
				if err != nil || l.Owner != s.owner || !l.Until.Equal(f.clock.Now().UTC().Add(ttl).Truncate(time.Microsecond)) {
					t.Fatalf("%s: holder %+v %v", s.name, l, err)
				}
			}
		}
		// Taken from a holder known to be dead, before its lease ran out;
		// never from another holder, nor when nobody holds it.
		for _, tc := range []struct {
			name, from, owner string
			want              bool
		}{
			{"not from someone else", "b", "c", false},
			{"from the holder, before it ran out", "a", "c", true},
			{"not from the old holder again", "a", "d", false},
		} {
			got, err := f.store.TakeLeaseFrom(ctx, "poller", tc.from, tc.owner, ttl)
			if err != nil || got != tc.want {
				t.Fatalf("%s: TakeLeaseFrom(%s → %s) = %v, %v", tc.name, tc.from, tc.owner, got, err)
			}
		}
		if got, err := f.store.TakeLeaseFrom(ctx, "nobody", "a", "c", ttl); err != nil || got {
			t.Fatalf("took a lease nobody held: %v %v", got, err)
		}
		if _, err := f.store.AcquireLease(ctx, "poller", "has space", ttl); err == nil {
			t.Error("an owner with a space was accepted")
		}

		// Many instances at once on a lease nobody holds: one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := f.store.AcquireLease(ctx, "race", fmt.Sprintf("i%d", i), ttl)
				if err != nil {
					t.Errorf("instance %d: %v", i, err)
				}
				if ok {
					mu.Lock()
					winners++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if winners != 1 {
			t.Errorf("%d instances hold the lease, want 1", winners)
		}
	})
}
