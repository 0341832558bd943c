package models_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_ReplanEveryCancelsSuperseded: a re-plan large enough to look
// up first which members have unstarted actions (over a thousand
// decisions) still cancels every invite its new decisions supersede, and
// leaves the actions of members it did not move alone.
func TestStore_ReplanEveryCancelsSuperseded(t *testing.T) {
	ctx := context.Background()
	modelstest.Each(t, func(t *testing.T, spec string) {
		db := modelstest.MustOpen(t, spec)
		store := models.NewStore(db, modelstest.MustRules(t, modelstest.Rules), models.Options{})
		const n = 1500
		ins := make([]models.MemberInput, n)
		for i := range ins {
			ins[i] = models.MemberInput{ID: fmt.Sprintf("c%d", i), Karma: 150, Groups: []string{"webmasters"}}
		}
		if _, err := store.PutMembers(ctx, ins, "test"); err != nil {
			t.Fatal(err)
		}
		g := db.Gorm()
		count := func(status string) int64 {
			t.Helper()
			var c int64
			if err := g.Model(&models.Action{}).Where("kind = ? AND status = ?", "invite", status).Count(&c).Error; err != nil {
				t.Fatal(err)
			}
			return c
		}
		// Everyone linked behind the store's back: the pass queues an
		// invite for each.
		if err := g.Exec("UPDATE members SET tg_user_id = id + 1000000000").Error; err != nil {
			t.Fatal(err)
		}
		if r, err := store.ReplanEvery(ctx, "test"); err != nil || r.Queued.Invites != n {
			t.Fatalf("first pass: %+v %v, want %d invites", r, err, n)
		}
		if got := count(models.ActionPending); got != n {
			t.Fatalf("%d pending invites, want %d", got, n)
		}
		// All but the last 100 drop below the bar before any invite went
		// out: their invites are superseded.
		if err := g.Exec("UPDATE members SET karma = 0 WHERE external_id NOT IN (SELECT external_id FROM (SELECT external_id FROM members ORDER BY id DESC LIMIT 100) AS kept)").Error; err != nil {
			t.Fatal(err)
		}
		r, err := store.ReplanEvery(ctx, "test")
		if err != nil {
			t.Fatal(err)
		}
		if r.Changed != n-100 {
			t.Errorf("second pass changed %d members, want %d", r.Changed, n-100)
		}
		if got := count(models.ActionPending); got != 100 {
			t.Errorf("%d pending invites after the pass, want the 100 not moved", got)
		}
		if got := count(models.ActionCancelled); got != n-100 {
			t.Errorf("%d invites cancelled, want %d", got, n-100)
		}
	})
}
