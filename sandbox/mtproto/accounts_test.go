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
