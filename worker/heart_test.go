package worker_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/worker"
)

// TestHeart_ClockAheadStealsNothing: a host whose clock runs 30 s ahead
// takes no action another instance holds under a 20-second lease: its
// store's clock is the database's (Heart.Now). With its own clock it would
// take it (the check of the test itself).
func TestHeart_ClockAheadStealsNothing(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		db := modelstest.MustOpen(t, spec)
		rules := modelstest.MustRules(t, modelstest.Rules)
		a := models.NewStore(db, rules, models.Options{})
		ahead := func() time.Time { return time.Now().Add(30 * time.Second) }
		heart, err := worker.NewHeart(worker.HeartOptions{Store: a, Owner: "b", Base: ahead})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := heart.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if d := time.Until(heart.Now()); d > 2*time.Second || d < -2*time.Second {
			t.Fatalf("the heart's clock is %s off the database's", d)
		}
		b := models.NewStore(db, rules, models.Options{Now: heart.Now})
		skewed := models.NewStore(db, rules, models.Options{Now: ahead})
		in := models.MemberInput{ID: "m", Karma: 150, Groups: []string{"webmasters"}}
		if err := in.Normalize(rules); err != nil {
			t.Fatal(err)
		}
		if _, err := a.PutMember(ctx, in, "test"); err != nil {
			t.Fatal(err)
		}
		if _, err := a.LinkTelegram(ctx, "m", 901, "", "test"); err != nil {
			t.Fatal(err)
		}
		if got, err := a.ClaimActions(ctx, "a", 1, 20*time.Second); err != nil || len(got) != 1 {
			t.Fatalf("claim: %v %v", got, err)
		}
		if got, err := b.ClaimActions(ctx, "b", 1, 20*time.Second); err != nil || len(got) != 0 {
			t.Fatalf("the host 30 s ahead, on the database's clock, took %d actions (%v)", len(got), err)
		}
		if got, _ := skewed.ClaimActions(ctx, "c", 1, 20*time.Second); len(got) != 1 {
			t.Fatalf("on its own clock the host 30 s ahead took %d actions; the test shows nothing", len(got))
		}
	})
}

// TestHeart_BuriesTheDeadAndDeregisters: on start, a process of this host
// that is gone is marked dead (what it held is free at once); a clean stop
// removes the heart's own registration.
func TestHeart_BuriesTheDeadAndDeregisters(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		db := modelstest.MustOpen(t, spec)
		store := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{})
		ctx := context.Background()
		host, err := os.Hostname()
		if err != nil {
			t.Skip(err)
		}
		gone := exec.Command("true")
		if err := gone.Run(); err != nil {
			t.Skip(err)
		}
		dead := fmt.Sprintf("%s:%d:dead", host, gone.Process.Pid)
		if err := store.Heartbeat(ctx, models.Instance{Owner: dead, Host: host, PID: gone.Process.Pid, Version: "old"}); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Leases().Acquire(ctx, "poller", dead, time.Hour); err != nil {
			t.Fatalf("lease: %v", err)
		}
		me := worker.DefaultOwner()
		heart, err := worker.NewHeart(worker.HeartOptions{Store: store, Owner: me, Every: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if err := heart.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Leases().Acquire(ctx, "poller", me, time.Hour); err != nil {
			t.Fatalf("the lease of a process that is gone: %v; want taken at once", err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- heart.Run(rctx) }()
		time.Sleep(200 * time.Millisecond)
		vs, err := store.Instances(ctx)
		if err != nil || len(vs) != 2 || vs[0].Owner != me || !vs[0].Alive || vs[1].Alive {
			t.Fatalf("instances: %+v %v", vs, err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		vs, _ = store.Instances(ctx)
		for _, v := range vs {
			if v.Owner == me {
				t.Errorf("still registered after a clean stop: %+v", v)
			}
		}
	})
}
