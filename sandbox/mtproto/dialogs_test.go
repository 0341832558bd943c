package mtproto_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/gotd/td/telegram/query"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_Dialogs: the userbot finds the supergroups it is in, also one
// a person created by hand and made it an admin of, through gotd's own
// dialog iterator (which pages with offsets).
func TestServer_Dialogs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000110"})
	person := e.MustUser(world.UserSpec{FirstName: "Person"})
	byHand, err := e.w.CreateSupergroup(person.ID, "Made by hand", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.w.AddMembers(byHand.ID, person.ID, []int64{owner.ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.w.PromoteAdmin(byHand.ID, person.ID, owner.ID, world.AdminRights{CanInviteUsers: true, CanRestrictMembers: true}, ""); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)

	e.RunAs(owner.Phone, "", func(ctx context.Context, api *tg.Client) error {
		var want []string
		for i := range 3 {
			e.clock.Advance(10 * time.Second)
			title := fmt.Sprintf("Own %d", i)
			if _, err := createSupergroup(ctx, api, title); err != nil {
				return err
			}
			want = append(want, title)
		}
		want = append(want, "Made by hand")

		t.Run("iterate", func(t *testing.T) {
			iter := query.GetDialogs(api).BatchSize(1).Iter()
			var got []string
			for iter.Next(ctx) {
				ch, ok := iter.Value().Entities.Channel(iter.Value().Peer.(*tg.InputPeerChannel).ChannelID)
				if !ok {
					t.Fatalf("no channel entity for %v", iter.Value().Peer)
				}
				got = append(got, ch.Title)
			}
			if err := iter.Err(); err != nil {
				t.Fatal(err)
			}
			sort.Strings(got)
			sort.Strings(want)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("dialogs = %q, want %q", got, want)
			}
		})
		t.Run("editTitle", func(t *testing.T) {
			ch := &tg.InputChannel{ChannelID: byHand.ID, AccessHash: byHand.AccessHash}
			if _, err := api.ChannelsEditTitle(ctx, &tg.ChannelsEditTitleRequest{Channel: ch, Title: "Renamed"}); err == nil {
				t.Fatal("editTitle without can_change_info succeeded")
			} else {
				wantRPC(t, err, 400, "CHAT_ADMIN_REQUIRED")
			}
		})
		return nil
	})
}
