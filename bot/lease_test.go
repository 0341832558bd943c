package bot_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/karmagate/karmagate/bot"
	"github.com/karmagate/karmagate/lease"
	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// span is one getUpdates call of one bot, from sending to its answer (or
// its cancellation).
type span struct{ from, to time.Time }

// pollSpans records a bot's getUpdates calls at its HTTP client: which
// instance polled when, as the sandbox's call log cannot tell.
type pollSpans struct {
	mu    sync.Mutex
	spans []span
	next  http.RoundTripper
}

func (p *pollSpans) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/getUpdates") {
		return p.next.RoundTrip(r)
	}
	from := time.Now()
	resp, err := p.next.RoundTrip(r)
	if err == nil {
		// The long poll ends when its body has been read: wrap it.
		resp.Body = &spanBody{ReadCloser: resp.Body, done: func() { p.add(span{from, time.Now()}) }}
		return resp, nil
	}
	p.add(span{from, time.Now()})
	return resp, err
}

func (p *pollSpans) add(s span) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spans = append(p.spans, s)
}

func (p *pollSpans) all() []span {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]span(nil), p.spans...)
}

type spanBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *spanBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// TestBot_PollerStopsWhenRenewalFails: the polling instance's database
// goes away for it alone (its lease renewals fail; its heart, here, is not
// registered): it stops calling getUpdates within the lease, and the
// standby, which takes the lease once it runs out in the database's
// clock, never polls while it still does; updates flow through the
// standby. The updates the old poller fetched and could not store are
// fetched again by its successor.
func TestBot_PollerStopsWhenRenewalFails(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		p := h.person("Pat", "pat_tg")
		h.makeMember(p, "pat") // every message of a member is answered
		h.stop()               // the harness's own bot hands its lease back
		const ttl = 2 * time.Second
		var down atomic.Bool
		db := h.store.DB().Gorm()
		flaky := lease.New(lease.Options{DB: db, Stale: models.InstanceStale, Tx: func(ctx context.Context, fn func(tx *gorm.DB) error) error {
			if down.Load() {
				return errors.New("the database is away for this instance")
			}
			return db.WithContext(ctx).Transaction(fn)
		}})
		start := func(owner string, ls *lease.Leases, spans *pollSpans) {
			ctx, cancel := context.WithCancel(context.Background())
			b, err := bot.New(ctx, bot.Options{Token: h.sb.BotToken(), ServerURL: h.sb.BotAPIURL(), Store: h.store, Leases: ls, Tokens: h.tokens,
				Secret: secret, Now: h.clock.Now, PollTimeout: time.Second, PollLease: ttl, Owner: owner, Logger: testLogger(t),
				HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: spans}})
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Go(func() { _ = b.Run(ctx) })
			t.Cleanup(func() { cancel(); wg.Wait() })
		}
		holder := func() string {
			l, err := h.store.Leases().Holder(context.Background(), bot.PollerLease)
			if err != nil {
				return ""
			}
			return l.Owner
		}
		spansA := &pollSpans{next: http.DefaultTransport}
		spansB := &pollSpans{next: http.DefaultTransport}
		start("A", flaky, spansA)
		h.eventually("A polls", func() bool { return holder() == "A" && len(spansA.all()) > 0 })
		start("B", nil, spansB)
		time.Sleep(ttl) // B stands by; A renews
		if got := holder(); got != "A" {
			t.Fatalf("the lease went to %q while A renewed it", got)
		}
		if n := len(spansB.all()); n != 0 {
			t.Fatalf("the standby polled %d times while A held the lease", n)
		}

		down.Store(true)
		failed := time.Now()
		h.eventually("B takes over", func() bool { return holder() == "B" && len(spansB.all()) > 0 })
		before := len(h.sb.Received(p.ID))
		if _, err := h.sb.SendMessage(p.ID, 0, "/help"); err != nil {
			t.Fatal(err)
		}
		h.eventually("an answer through the standby", func() bool { return len(h.sb.Received(p.ID)) > before })

		a, b := spansA.all(), spansB.all()
		lastA := a[len(a)-1].to
		firstB := b[0].from
		t.Logf("A stopped polling %v after its renewals began to fail; B began %v after that",
			lastA.Sub(failed).Round(time.Millisecond), firstB.Sub(lastA).Round(time.Millisecond))
		if lastA.Sub(failed) > ttl {
			t.Errorf("A still polled %v after its renewals failed; want within the lease (%v)", lastA.Sub(failed).Round(time.Millisecond), ttl)
		}
		for _, sa := range a {
			for _, sb := range b {
				if sa.from.Before(sb.to) && sb.from.Before(sa.to) {
					t.Errorf("A polled %v–%v while B polled %v–%v", sa.from.Format(time.StampMilli), sa.to.Format(time.StampMilli),
						sb.from.Format(time.StampMilli), sb.to.Format(time.StampMilli))
				}
			}
		}
		for _, c := range h.sb.Calls() {
			if c.Method == "getUpdates" && strings.Contains(c.Error, "Conflict") {
				t.Errorf("getUpdates cut off by another poller: %s", c.Error)
			}
		}
	})
}

// TestBot_PollerStoresUnderItsToken: the poller's lease is taken over
// while it polls and cannot yet know (its renewals fail: it counts on its
// lease a few seconds more). The update it fetches then is refused by the
// lease's fencing token, not stored, and not acknowledged: it stops
// polling, and the next poller gets the update from Telegram again and
// answers it once.
func TestBot_PollerStoresUnderItsToken(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		p := h.person("Pat", "pat_tg")
		h.makeMember(p, "pat")
		h.stop()
		var down atomic.Bool
		db := h.store.DB().Gorm()
		flaky := lease.New(lease.Options{DB: db, Stale: models.InstanceStale, Tx: func(ctx context.Context, fn func(tx *gorm.DB) error) error {
			if down.Load() {
				return errors.New("the database is away for this instance's leases")
			}
			return db.WithContext(ctx).Transaction(fn)
		}})
		spans := &pollSpans{next: http.DefaultTransport}
		run := func(owner string, ls *lease.Leases, client *http.Client) {
			ctx, cancel := context.WithCancel(context.Background())
			b, err := bot.New(ctx, bot.Options{Token: h.sb.BotToken(), ServerURL: h.sb.BotAPIURL(), Store: h.store, Leases: ls, Tokens: h.tokens,
				Secret: secret, Now: h.clock.Now, PollTimeout: time.Second, PollLease: 10 * time.Second, Owner: owner, Logger: testLogger(t),
				HTTPClient: client})
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Go(func() { _ = b.Run(ctx) })
			t.Cleanup(func() { cancel(); wg.Wait() })
		}
		run("A", flaky, &http.Client{Timeout: 10 * time.Second, Transport: spans})
		var a lease.Lease
		h.eventually("A polls", func() bool {
			l, err := h.store.Leases().Holder(context.Background(), bot.PollerLease)
			a = l
			return err == nil && l.Owner == "A" && len(spans.all()) > 0
		})
		stored := len(storedUpdateIDs(t, h))
		down.Store(true)
		thief, err := h.store.Leases().TakeFrom(context.Background(), bot.PollerLease, "A", "thief", time.Minute)
		if err != nil || thief.Token != a.Token+1 {
			t.Fatalf("take the lease: %+v %v", thief, err)
		}
		taken := time.Now()
		before := len(h.sb.Received(p.ID))
		if _, err := h.sb.SendMessage(p.ID, 0, "/help"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second) // A fetches it, is refused, stops
		if ids := storedUpdateIDs(t, h); len(ids) != stored {
			t.Fatalf("A stored updates %v under a lease it lost (%d before)", ids, stored)
		}
		if got := h.sb.Received(p.ID); len(got) != before {
			t.Fatalf("answered through A after it lost the lease: %+v", got[before:])
		}
		s := spans.all()
		if last := s[len(s)-1].to; last.Sub(taken) > 2*time.Second {
			t.Errorf("A still polled %v after its lease was taken", last.Sub(taken).Round(time.Millisecond))
		}
		// The thief hands over to a poller that works: it gets the update
		// again from Telegram and answers once.
		if err := h.store.Leases().Release(context.Background(), thief); err != nil {
			t.Fatal(err)
		}
		run("B", nil, nil)
		h.eventually("the answer through B", func() bool { return len(h.sb.Received(p.ID)) > before })
		time.Sleep(time.Second)
		if got := h.sb.Received(p.ID); len(got) != before+1 {
			t.Errorf("answers: %+v; want one", got[before:])
		}
	})
}

func storedUpdateIDs(t *testing.T, h *harness) []int64 {
	t.Helper()
	var ids []int64
	if err := h.store.DB().Gorm().Raw("SELECT update_id FROM updates ORDER BY update_id").Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	return ids
}
