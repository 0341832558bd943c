package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// TestE2E_KillDuringRemovals (issue 15): serve is killed with SIGKILL
// while 15 removals run (some people banned, some not, some banned and not
// yet told) and started again at once. Within 10 s of the restart every
// removal is done and every removed person told, once: the restarted
// process takes over what the dead one held as soon as it knows it dead
// (its pid is gone from this host), not when its one-minute leases run
// out, and a removal that finds its person out already sends the notice
// no attempt was recorded for.
func TestE2E_KillDuringRemovals(t *testing.T) {
	t.Parallel()
	e := newE2E(t, false, crashEnv(t)...)
	const n, removed = 40, 15
	w := newCrashWorkload(t, e, n)
	for _, m := range w.members {
		m.karma, m.change, m.probe, m.initial = 150, 0, false, 150
	}
	w.setup()
	w.start(0, n)
	w.converge(5 * time.Minute)

	// Fifteen members of Alpha only drop below its bar.
	var out []*crashMember
	for _, m := range w.members {
		if slices.Equal(m.groups, []string{"a"}) && len(out) < removed {
			out = append(out, m)
		}
	}
	if len(out) != removed {
		t.Fatalf("%d members in Alpha alone, want %d", len(out), removed)
	}
	before := map[int64]int{}
	for _, m := range out {
		msgs, err := inbox(e, m.person)
		if err != nil {
			t.Fatal(err)
		}
		before[m.person] = len(msgs)
	}
	cs, err := callsSince(e, 0)
	if err != nil {
		t.Fatal(err)
	}
	seq := cs[len(cs)-1].Seq + 1
	var bulk []map[string]any
	for _, m := range out {
		m.karma = 10
		bulk = append(bulk, map[string]any{"id": m.id, "karma": m.karma, "groups": m.groups})
	}
	if _, err := callJSON("POST", e.apiURL("/api/v1/members/bulk"), e.apiKey(), bulk, nil); err != nil {
		t.Fatal(err)
	}
	// Kill once a few bans went out, while the rest run.
	bans := func() int {
		cs, err := callsSince(e, seq)
		if err != nil {
			return -1
		}
		n := 0
		for _, c := range cs {
			if c.Method == "banChatMember" && c.Error == "" {
				n++
			}
		}
		return n
	}
	e.eventually("the first removals to run", func() bool { return bans() >= 3 })
	e.kill()
	atKill := bans()
	if atKill >= removed {
		t.Fatalf("all %d removals were done before the kill: nothing to recover", atKill)
	}
	t.Logf("killed after %d of %d bans", atKill, removed)
	e.serve()
	restarted := time.Now()
	alpha := w.chatIDs[0]
	// A notice whose send was in flight at the kill is lost by design
	// (at most once: its outcome is unknown); the database says which.
	db, err := models.Open(testContext(t), e.vars["KARMAGATE_DB"], models.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rules, err := gate.ParseRules("crash.rules.yaml", []byte(crashRules))
	if err != nil {
		t.Fatal(err)
	}
	notices := models.NewStore(db, rules, models.Options{})
	inFlight := func(person int64) bool {
		ns, err := notices.Notices(testContext(t), person)
		if err != nil {
			return false
		}
		for _, n := range ns {
			if n.Status == models.NoticeSending && n.CreatedAt.Before(restarted) {
				return true
			}
		}
		return false
	}
	lost := map[string]bool{}
	done := func() (bool, string) {
		inside, err := chatMembers(e, alpha)
		if err != nil {
			return false, err.Error()
		}
		for _, m := range out {
			if _, ok := inside[m.person]; ok {
				return false, fmt.Sprintf("%s still inside", m.id)
			}
			msgs, err := inbox(e, m.person)
			if err != nil {
				return false, err.Error()
			}
			if len(msgs) <= before[m.person] {
				if inFlight(m.person) {
					lost[m.id] = true
					continue
				}
				return false, fmt.Sprintf("%s not told", m.id)
			}
		}
		return true, ""
	}
	var why string
	for {
		ok, w := done()
		if ok {
			break
		}
		why = w
		if time.Since(restarted) > time.Minute {
			t.Fatalf("a minute after the restart: %s\n%s", why, tail(e.logs.String(), 60))
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(restarted)
	t.Logf("every removal done and every removed member told %v after the restart", took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("recovery took %v, want within 10 s (last waiting: %s)", took.Round(time.Millisecond), why)
	}
	if len(lost) > 0 {
		t.Logf("notices in flight at the kill, lost by design (at most once): %v", lost)
	}
	// Told once: one new message each (one chat left).
	time.Sleep(time.Second)
	for _, m := range out {
		msgs, _ := inbox(e, m.person)
		if got := len(msgs) - before[m.person]; got != 1 && !(got == 0 && lost[m.id]) {
			t.Errorf("%s received %d messages after the removal, want 1: %q", m.id, got, msgs[before[m.person]:])
		}
	}
	requireNoLeaks(t, e)
}
