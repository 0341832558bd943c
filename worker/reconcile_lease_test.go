package worker_test

import (
	"context"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/worker"
)

// TestReconciler_StaleHolderWritesNothing: a scheduled pass whose lease
// another instance takes over (this one looked dead to it) stops, and
// what it still writes under the lost lease — its audit event, the record
// that a pass ran — is refused by the lease's fencing token.
func TestReconciler_StaleHolderWritesNothing(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		rules := modelstest.MustRules(t, modelstest.Rules)
		a := models.NewStore(modelstest.MustOpen(t, spec), rules, models.Options{})
		b := models.NewStore(modelstest.MustOpen(t, spec), rules, models.Options{})
		ctx := context.Background()
		if err := a.BindChat(ctx, "webmasters-pro", -1001, "test"); err != nil {
			t.Fatal(err)
		}
		slow := &slowAuditor{entered: make(chan struct{}), d: 1500 * time.Millisecond}
		rec, err := worker.NewReconciler(worker.ReconcileOptions{Store: a, Auditor: slow, Every: time.Hour, LeaseTTL: time.Minute,
			OnStart: true, Owner: "stale"})
		if err != nil {
			t.Fatal(err)
		}
		stop := runReconciler(t, rec)
		defer stop()
		<-slow.entered
		// The other instance takes the lease mid-pass.
		took, err := b.Leases().TakeFrom(ctx, worker.ReconcileLease, "stale", "successor", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond) // the audit ends; the pass writes what it found
		if evs := reconcileEvents(t, b); len(evs) != 0 {
			t.Errorf("the stale pass recorded %d events: %+v", len(evs), evs)
		}
		if last, err := b.LastReconcile(ctx); err != nil || !last.IsZero() {
			t.Errorf("the stale pass counted as run: %v %v", last, err)
		}
		if h, err := b.Leases().Holder(ctx, worker.ReconcileLease); err != nil || h.Owner != "successor" || h.Token != took.Token {
			t.Errorf("the lease after the stale pass: %+v %v; want the successor's", h, err)
		}
	})
}
