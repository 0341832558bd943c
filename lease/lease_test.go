package lease_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/lease"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

func newStore(t *testing.T, spec string, opts models.Options) *models.Store {
	t.Helper()
	return models.NewStore(modelstest.MustOpen(t, spec), modelstest.MustRules(t, modelstest.Rules), opts)
}

// TestLeases_AcquireRenewRelease: one holder at a time; renewing keeps the
// token, every change of hands raises it; a lease that ran out or was
// released is taken at once; a lost lease cannot be renewed or released.
func TestLeases_AcquireRenewRelease(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		ls := newStore(t, spec, models.Options{}).Leases()
		ctx := context.Background()
		const short = 300 * time.Millisecond
		held := map[string]lease.Lease{}
		steps := []struct {
			name      string
			op        string // acquire, renew, release, wait
			owner     string
			ttl       time.Duration
			wantErr   error
			wantToken int64
		}{
			{"the first takes it", "acquire", "a", time.Minute, nil, 1},
			{"another is refused", "acquire", "b", time.Minute, lease.ErrHeld, 1},
			{"the holder renews: same token", "renew", "a", short, nil, 1},
			{"acquiring again is renewing", "acquire", "a", short, nil, 1},
			{"still refused before it runs out", "acquire", "b", time.Minute, lease.ErrHeld, 1},
			{"it runs out", "wait", "", 2 * short, nil, 0},
			{"taken once it ran out: next token", "acquire", "b", time.Minute, nil, 2},
			{"the old holder cannot renew", "renew", "a", time.Minute, lease.ErrLost, 0},
			{"the old holder's release changes nothing", "release", "a", 0, nil, 0},
			{"nor may it take it back", "acquire", "a", time.Minute, lease.ErrHeld, 2},
			{"released by its holder", "release", "b", 0, nil, 0},
			{"a released lease cannot be renewed", "renew", "b", time.Minute, lease.ErrLost, 0},
			{"free at once after a release: next token", "acquire", "a", time.Minute, nil, 3},
		}
		for _, s := range steps {
			var got lease.Lease
			var err error
			switch s.op {
			case "wait":
				time.Sleep(s.ttl)
				continue
			case "acquire":
				got, err = ls.Acquire(ctx, "poller", s.owner, s.ttl)
			case "renew":
				got, err = ls.Renew(ctx, held[s.owner], s.ttl)
			case "release":
				err = ls.Release(ctx, held[s.owner])
			}
			if s.wantErr == nil && err != nil || s.wantErr != nil && !errors.Is(err, s.wantErr) {
				t.Fatalf("%s: %s by %s: %v; want %v", s.name, s.op, s.owner, err, s.wantErr)
			}
			if s.wantToken != 0 && got.Token != s.wantToken {
				t.Fatalf("%s: token %d, want %d (%+v)", s.name, got.Token, s.wantToken, got)
			}
			if err == nil && s.op != "release" {
				if got.Owner != s.owner || got.Until.Sub(got.At) != s.ttl.Truncate(time.Millisecond) {
					t.Fatalf("%s: %+v; want %s's, %v from the database's now", s.name, got, s.owner, s.ttl)
				}
				if left := time.Until(got.Deadline); left > min(s.ttl, models.InstanceStale) || left <= 0 {
					t.Fatalf("%s: deadline in %v; want within min(ttl, heart staleness)", s.name, left)
				}
				held[s.owner] = got
			}
			if errors.Is(err, lease.ErrHeld) && got.Owner == s.owner {
				t.Fatalf("%s: refused, naming the caller as holder: %+v", s.name, got)
			}
		}
		h, err := ls.Holder(ctx, "poller")
		if err != nil || h.Owner != "a" || h.Token != 3 {
			t.Fatalf("holder: %+v %v", h, err)
		}
		if h, err := ls.Holder(ctx, "never"); err != nil || h.Owner != "" || h.Token != 0 {
			t.Fatalf("holder of a lease never taken: %+v %v", h, err)
		}
		for _, bad := range []struct{ name, owner string }{{"", "a"}, {"x", ""}, {string(make([]byte, lease.MaxName+1)), "a"}} {
			if _, err := ls.Acquire(ctx, bad.name, bad.owner, time.Minute); err == nil || errors.Is(err, lease.ErrHeld) {
				t.Errorf("Acquire(%q, %q) = %v; want a clear refusal", bad.name, bad.owner, err)
			}
		}
	})
}

// TestLeases_TakeFromAndTheDead: a holder known dead (its heart stopped,
// or its pid gone on this host) loses its lease at once, before it runs
// out; a living holder, or one that never registered, keeps it.
func TestLeases_TakeFromAndTheDead(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		store := newStore(t, spec, models.Options{})
		ls := store.Leases()
		ctx := context.Background()
		for _, o := range []string{"alive", "doomed"} {
			if err := store.Heartbeat(ctx, models.Instance{Owner: o, Host: "h", PID: 1, Version: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ls.Acquire(ctx, "l", "doomed", time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := ls.Acquire(ctx, "l", "alive", time.Hour); !errors.Is(err, lease.ErrHeld) {
			t.Fatalf("taken from a living holder: %v", err)
		}
		if err := store.MarkDead(ctx, "doomed"); err != nil {
			t.Fatal(err)
		}
		l, err := ls.Acquire(ctx, "l", "alive", time.Hour)
		if err != nil || l.Token != 2 {
			t.Fatalf("the lease of a dead holder: %+v %v; want taken at once with token 2", l, err)
		}

		if _, err := ls.Acquire(ctx, "m", "unregistered", time.Hour); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, from, owner string
			want              error
			token             int64
		}{
			{"not from someone else", "b", "c", lease.ErrHeld, 0},
			{"from the holder, before it ran out", "unregistered", "c", nil, 2},
			{"not from the old holder again", "unregistered", "d", lease.ErrHeld, 0},
		} {
			got, err := ls.TakeFrom(ctx, "m", tc.from, tc.owner, time.Hour)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) || tc.token != 0 && got.Token != tc.token {
				t.Fatalf("%s: TakeFrom(%s → %s) = %+v, %v", tc.name, tc.from, tc.owner, got, err)
			}
		}
		if _, err := ls.TakeFrom(ctx, "nobody", "a", "c", time.Hour); !errors.Is(err, lease.ErrHeld) {
			t.Fatalf("took a lease nobody held: %v", err)
		}
	})
}

// TestLeases_ClockAhead: a host whose clock is 30 s ahead (its store's
// clock too, as serve's would be without the heart's correction) takes
// nothing early: a lease's times are the database's. Its Deadline is on
// its own clock, as long from its now as anyone's.
func TestLeases_ClockAhead(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		db := modelstest.MustOpen(t, spec)
		rules := modelstest.MustRules(t, modelstest.Rules)
		ahead := func() time.Time { return time.Now().Add(30 * time.Second) }
		honest := models.NewStore(db, rules, models.Options{}).Leases()
		skewed := lease.New(lease.Options{DB: db.Gorm(), Now: ahead})
		skewedStore := models.NewStore(db, rules, models.Options{Now: ahead}).Leases()
		ctx := context.Background()
		l, err := honest.Acquire(ctx, "poller", "honest", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for name, ls := range map[string]*lease.Leases{"lease client": skewed, "store": skewedStore} {
			got, err := ls.Acquire(ctx, "poller", "ahead", 10*time.Second)
			if !errors.Is(err, lease.ErrHeld) || got.Owner != "honest" || got.Token != l.Token {
				t.Fatalf("%s 30 s ahead: %+v %v; want refused, held by honest", name, got, err)
			}
		}
		// Its own leases it counts on its own clock: 10 s from its now.
		mine, err := skewed.Acquire(ctx, "other", "ahead", 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if left := mine.Deadline.Sub(ahead()); left <= 9*time.Second || left > 10*time.Second {
			t.Errorf("deadline %v from the skewed host's now; want 10 s", left)
		}
		if _, err := honest.Acquire(ctx, "other", "honest", time.Second); !errors.Is(err, lease.ErrHeld) {
			t.Errorf("the honest host took the skewed host's fresh lease: %v", err)
		}
		if _, err := honest.Renew(ctx, l, 10*time.Second); err != nil {
			t.Errorf("the honest holder's renewal: %v", err)
		}
	})
}

// TestLeases_ConcurrentAcquire: 8 goroutines at once on a lease nobody
// holds: one wins. Then each takes, holds and releases it over and over:
// every token has exactly one holder, and tokens never repeat.
func TestLeases_ConcurrentAcquire(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		ls := newStore(t, spec, models.Options{}).Leases()
		ctx := context.Background()
		var mu sync.Mutex
		holders := map[int64][]string{}
		winners := 0
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 8 {
			wg.Go(func() {
				<-start
				_, err := ls.Acquire(ctx, "race", fmt.Sprintf("i%d", i), time.Minute)
				switch {
				case err == nil:
					mu.Lock()
					winners++
					mu.Unlock()
				case !errors.Is(err, lease.ErrHeld):
					t.Errorf("instance %d: %v", i, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if winners != 1 {
			t.Fatalf("%d instances hold the lease, want 1", winners)
		}

		var inside atomic.Int32
		for i := range 8 {
			wg.Go(func() {
				owner := fmt.Sprintf("j%d", i)
				for range 10 {
					l, err := ls.Acquire(ctx, "turns", owner, time.Minute)
					if errors.Is(err, lease.ErrHeld) {
						time.Sleep(time.Millisecond)
						continue
					}
					if err != nil {
						t.Errorf("%s: %v", owner, err)
						return
					}
					if n := inside.Add(1); n != 1 {
						t.Errorf("%d holders at once", n)
					}
					mu.Lock()
					holders[l.Token] = append(holders[l.Token], owner)
					mu.Unlock()
					inside.Add(-1)
					if err := ls.Release(ctx, l); err != nil {
						t.Errorf("%s: %v", owner, err)
					}
				}
			})
		}
		wg.Wait()
		if len(holders) == 0 {
			t.Fatal("nobody took the lease")
		}
		for tok, who := range holders {
			if len(who) != 1 {
				t.Errorf("token %d held by %v", tok, who)
			}
		}
		t.Logf("%d takes, each its own token", len(holders))
	})
}

// TestFence_StaleHolderRefused: holder A loses the lease to B (A's heart
// stops); A's late write, fenced by its token, is refused and writes
// nothing; B's goes through. A write under a lease that nobody took but
// that ran out is refused too.
func TestFence_StaleHolderRefused(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		store := newStore(t, spec, models.Options{})
		ls := store.Leases()
		ctx := context.Background()
		for _, o := range []string{"A", "B"} {
			if err := store.Heartbeat(ctx, models.Instance{Owner: o, Host: "h", PID: 1, Version: "test"}); err != nil {
				t.Fatal(err)
			}
		}
		a, err := ls.Acquire(ctx, "poller", "A", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		save := func(l lease.Lease, id int64) error {
			_, err := store.SaveUpdates(lease.WithFence(ctx, l), []models.Update{{UpdateID: id, Lane: 1, Kind: "message", Payload: fmt.Sprintf(`{"update_id":%d}`, id)}})
			return err
		}
		if err := save(a, 1); err != nil {
			t.Fatalf("A's write while it holds the lease: %v", err)
		}
		if err := store.MarkDead(ctx, "A"); err != nil { // A's heart stops
			t.Fatal(err)
		}
		b, err := ls.Acquire(ctx, "poller", "B", time.Minute)
		if err != nil || b.Token != a.Token+1 {
			t.Fatalf("B takes over: %+v %v", b, err)
		}
		if err := save(a, 2); !errors.Is(err, lease.ErrLost) {
			t.Fatalf("A's late write: %v; want ErrLost", err)
		}
		if err := save(b, 3); err != nil {
			t.Fatalf("B's write: %v", err)
		}
		ids := storedUpdates(t, store)
		if fmt.Sprint(ids) != "[1 3]" {
			t.Fatalf("stored updates %v; want [1 3]: A's late write refused", ids)
		}
		// The fence in a transaction of one's own.
		err = store.DB().Gorm().Transaction(func(tx *gorm.DB) error { return lease.Fence(tx, "poller", a.Token) })
		if !errors.Is(err, lease.ErrLost) {
			t.Errorf("Fence of A's token: %v", err)
		}
		if err := store.DB().Gorm().Transaction(func(tx *gorm.DB) error { return lease.Fence(tx, "poller", b.Token) }); err != nil {
			t.Errorf("Fence of B's token: %v", err)
		}
		// Run out, taken by nobody: refused all the same.
		c, err := ls.Acquire(ctx, "short", "B", 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond)
		if err := save(c, 4); !errors.Is(err, lease.ErrLost) {
			t.Errorf("a write under a lease that ran out: %v; want ErrLost", err)
		}
		// A write with no fence is not checked.
		if _, err := store.SaveUpdates(lease.WithoutFence(lease.WithFence(ctx, a)), []models.Update{{UpdateID: 5, Lane: 1, Kind: "message", Payload: `{"update_id":5}`}}); err != nil {
			t.Errorf("an unfenced write: %v", err)
		}
	})
}

func storedUpdates(t *testing.T, store *models.Store) []int64 {
	t.Helper()
	var ids []int64
	if err := store.DB().Gorm().Raw("SELECT update_id FROM updates ORDER BY update_id").Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestLeases_Hold: a held lease is renewed past its TTL; when renewals
// fail (the database is away for this holder), the holder's context ends
// a fifth of the window before its last deadline, before anyone else can
// take the lease; a lease taken over ends it at the next renewal.
func TestLeases_Hold(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		store := newStore(t, spec, models.Options{})
		ctx := context.Background()
		var down atomic.Bool
		db := store.DB().Gorm()
		flaky := lease.New(lease.Options{DB: db, Tx: func(ctx context.Context, fn func(tx *gorm.DB) error) error {
			if down.Load() {
				return errors.New("the database is away")
			}
			return db.WithContext(ctx).Transaction(fn)
		}})
		const ttl = 400 * time.Millisecond
		l, err := flaky.Acquire(ctx, "held", "A", ttl)
		if err != nil {
			t.Fatal(err)
		}
		hctx, stop := flaky.Hold(ctx, l, ttl)
		defer stop()
		time.Sleep(3 * ttl)
		if hctx.Err() != nil {
			t.Fatalf("a renewed lease ended: %v", context.Cause(hctx))
		}
		if _, err := store.Leases().Acquire(ctx, "held", "B", ttl); !errors.Is(err, lease.ErrHeld) {
			t.Fatalf("another took a renewed lease: %v", err)
		}
		down.Store(true)
		failed := time.Now()
		<-hctx.Done()
		stopped := time.Now()
		if !lease.Lost(hctx) {
			t.Fatalf("cause %v; want ErrLost", context.Cause(hctx))
		}
		var took time.Time
		for took.IsZero() {
			if _, err := store.Leases().Acquire(ctx, "held", "B", ttl); err == nil {
				took = time.Now()
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("renewals failing: the holder stopped after %v, %v before its successor took over (lease %v)",
			stopped.Sub(failed).Round(time.Millisecond), took.Sub(stopped).Round(time.Millisecond), ttl)
		if stopped.Sub(failed) > ttl || !stopped.Before(took) {
			t.Errorf("the holder stopped %v after its renewals failed, %v before its successor took over; want within the lease, and first",
				stopped.Sub(failed), took.Sub(stopped))
		}

		// Taken over: the next renewal ends the holding.
		down.Store(false)
		m, err := flaky.Acquire(ctx, "taken", "A", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		hctx2, stop2 := flaky.Hold(ctx, m, time.Second)
		defer stop2()
		if _, err := store.Leases().TakeFrom(ctx, "taken", "A", "B", time.Minute); err != nil {
			t.Fatal(err)
		}
		select {
		case <-hctx2.Done():
			if !lease.Lost(hctx2) {
				t.Errorf("cause %v", context.Cause(hctx2))
			}
		case <-time.After(time.Second):
			t.Error("a holder whose lease was taken over still holds it")
		}
	})
}
