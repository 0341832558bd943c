package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

func TestStore_DashboardSessions(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		ctx := context.Background()
		f := newFixture(t, spec)
		s := f.store
		mk := func(hash, user, cred string, at time.Time) {
			t.Helper()
			if err := s.CreateDashboardSession(ctx, &models.DashboardSession{TokenHash: hash, UserName: user, Credential: cred,
				Remote: "192.0.2.1", CreatedAt: at, ExpiresAt: at.Add(12 * time.Hour)}); err != nil {
				t.Fatalf("create %s: %v", hash, err)
			}
		}
		exists := func(hash string) bool {
			t.Helper()
			_, err := s.FindDashboardSession(ctx, hash)
			if err != nil && !errors.Is(err, models.ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil
		}
		mk("old", "alice", "c1", t0.Add(-13*time.Hour))
		mk("a1", "alice", "c1", t0)
		if exists("old") {
			t.Error("a session that expired before a new one began is kept")
		}
		got, err := s.FindDashboardSession(ctx, "a1")
		if err != nil || got.UserName != "alice" || got.Credential != "c1" || !got.ExpiresAt.Equal(t0.Add(12*time.Hour)) {
			t.Fatalf("find a1: %+v, %v", got, err)
		}
		mk("a2", "alice", "c1", t0)
		mk("b1", "bob", "c2", t0)
		mk("c1", "carol", "c3", t0)
		if err := s.DeleteDashboardSession(ctx, "a2"); err != nil || exists("a2") || !exists("a1") {
			t.Fatalf("delete a2: %v", err)
		}
		if err := s.DeleteDashboardSession(ctx, "a2"); err != nil {
			t.Errorf("delete a2 again: %v", err)
		}
		// alice changed her password; carol is no admin any more.
		n, err := s.PruneDashboardSessions(ctx, t0, map[string]string{"alice": "c1-new", "bob": "c2"})
		if err != nil || n != 2 || exists("a1") || exists("c1") || !exists("b1") {
			t.Fatalf("prune: %d, %v; want alice's and carol's gone, bob's kept", n, err)
		}
		if n, err := s.PruneDashboardSessions(ctx, t0.Add(12*time.Hour), map[string]string{"bob": "c2"}); err != nil || n != 1 || exists("b1") {
			t.Fatalf("prune the expired: %d, %v", n, err)
		}
		mk("d1", "dave", "c4", t0)
		mk("d2", "dave", "c4", t0)
		if n, err := s.DeleteDashboardSessions(ctx, "dave"); err != nil || n != 2 {
			t.Fatalf("delete dave's: %d, %v", n, err)
		}
	})
}
