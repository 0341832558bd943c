package models_test

import (
	"context"
	"testing"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
)

// TestStore_NoticeBegun: a notice counts as begun from BeginNotice on,
// sent or not, and no longer once forgotten (it certainly did not go out).
func TestStore_NoticeBegun(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		f := newFixture(t, spec)
		ctx := context.Background()
		begun := func(key string) bool {
			t.Helper()
			ok, err := f.store.NoticeBegun(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		for _, tc := range []struct {
			name string
			key  string
			step func(key string) error
			want bool
		}{
			{"never begun", "karma/-100/7/1", func(string) error { return nil }, false},
			{"begun", "karma/-100/7/2", func(key string) error {
				_, err := f.store.BeginNotice(ctx, models.Notice{IdemKey: key, TgUserID: 7, Kind: "ephemeral"})
				return err
			}, true},
			{"sent", "karma/-100/7/3", func(key string) error {
				if _, err := f.store.BeginNotice(ctx, models.Notice{IdemKey: key, TgUserID: 7, Kind: "ephemeral"}); err != nil {
					return err
				}
				return f.store.FinishNotice(ctx, key, models.NoticeSent, "")
			}, true},
			{"forgotten", "karma/-100/7/4", func(key string) error {
				if _, err := f.store.BeginNotice(ctx, models.Notice{IdemKey: key, TgUserID: 7, Kind: "ephemeral"}); err != nil {
					return err
				}
				return f.store.ForgetNotice(ctx, key)
			}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := tc.step(tc.key); err != nil {
					t.Fatal(err)
				}
				if got := begun(tc.key); got != tc.want {
					t.Errorf("NoticeBegun = %v, want %v", got, tc.want)
				}
			})
		}
	})
}
