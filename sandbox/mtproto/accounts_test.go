package mtproto_test

import (
	"context"
	"testing"

	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_AccountTroubles: revoked sessions and frozen accounts answer
// as Telegram does, so the userbot pool can fail over.
func TestServer_AccountTroubles(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000140"})
	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		create := func() error {
			_, err := createSupergroup(ctx, api, "Trouble")
			return err
		}
		self := func() error {
			_, err := api.UsersGetUsers(ctx, []tg.InputUserClass{&tg.InputUserSelf{}})
			return err
		}
		t.Run("frozen", func(t *testing.T) {
			e.srv.Freeze(owner.ID, true)
			wantRPC(t, create(), 420, "FROZEN_METHOD_INVALID")
			if err := self(); err != nil {
				t.Errorf("users.getUsers while frozen: %v", err)
			}
			e.srv.Freeze(owner.ID, false)
			if err := create(); err != nil {
				t.Errorf("after thawing: %v", err)
			}
		})
		t.Run("revoked", func(t *testing.T) {
			if n := e.srv.RevokeSessions(owner.ID); n != 1 {
				t.Errorf("revoked %d authorizations, want 1", n)
			}
			wantRPC(t, self(), 401, "SESSION_REVOKED")
		})
		return nil
	})
}

// TestServer_UserGone: deleting the user, or resetting the world, logs
// their clients out (AUTH_KEY_UNREGISTERED, as for a deleted account).
func TestServer_UserGone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		phone string
		gone  func(w *world.World, userID int64) error
	}{
		{name: "deleted", phone: "+15550000141", gone: func(w *world.World, id int64) error { return w.DeleteUser(id) }},
		{name: "world reset", phone: "+15550000142", gone: func(w *world.World, _ int64) error { w.Reset(); return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, world.Limits{})
			u := e.MustUser(world.UserSpec{FirstName: "Leaving", Phone: tt.phone})
			e.RunAs(u.Phone, "", func(ctx context.Context, api *tg.Client) error {
				self := func() error {
					_, err := api.UsersGetUsers(ctx, []tg.InputUserClass{&tg.InputUserSelf{}})
					return err
				}
				if err := self(); err != nil {
					t.Fatalf("logged in: %v", err)
				}
				if err := tt.gone(e.w, u.ID); err != nil {
					t.Fatal(err)
				}
				wantRPC(t, self(), 401, "AUTH_KEY_UNREGISTERED")
				return nil
			})
		})
	}
}
