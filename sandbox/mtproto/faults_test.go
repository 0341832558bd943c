package mtproto_test

import (
	"context"
	"testing"
	"time"

	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_Faults: injected faults answer like Telegram's own failures,
// deterministically under the seed, and the client recovers.
func TestServer_Faults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000090"})
	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		self := func() error {
			_, err := api.UsersGetUsers(ctx, []tg.InputUserClass{&tg.InputUserSelf{}})
			return err
		}
		for _, tc := range []struct {
			kind string
			code int
			typ  string
		}{
			{world.FaultServerError, 500, "INTERNAL"},
			{world.FaultTimeout, -503, "Timeout"},
			{world.FaultTooMany, 420, "FLOOD_WAIT"},
		} {
			t.Run(tc.kind, func(t *testing.T) {
				e.w.SetFaults(world.Faults{Rate: 1, Seed: 1, Kinds: []string{tc.kind}})
				defer e.w.SetFaults(world.Faults{})
				wantRPC(t, self(), tc.code, tc.typ)
			})
		}
		t.Run(world.FaultDrop, func(t *testing.T) {
			e.w.SetFaults(world.Faults{Rate: 1, Seed: 1, Kinds: []string{world.FaultDrop}})
			ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			_, err := api.UsersGetUsers(ctx, []tg.InputUserClass{&tg.InputUserSelf{}})
			e.w.SetFaults(world.Faults{})
			if err == nil {
				t.Fatal("call on a dropped connection succeeded")
			}
			var drops int
			for _, c := range e.w.Calls() {
				if c.Fault == world.FaultDrop {
					drops++
				}
			}
			if drops == 0 {
				t.Fatal("no dropped call in the call log")
			}
		})
		t.Run("off again", func(t *testing.T) {
			if err := self(); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("same seed, same faults", func(t *testing.T) {
			draw := func() []bool {
				e.w.SetFaults(world.Faults{Rate: 0.5, Seed: 7, Kinds: []string{world.FaultServerError}})
				defer e.w.SetFaults(world.Faults{})
				var out []bool
				for range 12 {
					out = append(out, self() != nil)
				}
				return out
			}
			a, b := draw(), draw()
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("draws differ: %v vs %v", a, b)
				}
			}
		})
		return nil
	})
}
