package mtproto_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gotd/td/telegram"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_PushUpdates: the creator's client hears, as updates, people
// joining by link and leaving, like on Telegram.
func TestServer_PushUpdates(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000080"})
	hank := e.MustUser(world.UserSpec{FirstName: "Hank"})
	ivy := e.MustUser(world.UserSpec{FirstName: "Ivy"})

	got := make(chan tg.MessageActionClass, 16)
	handler := telegram.UpdateHandlerFunc(func(ctx context.Context, u tg.UpdatesClass) error {
		ups, ok := u.(*tg.Updates)
		if !ok {
			return nil
		}
		for _, up := range ups.Updates {
			if m, ok := up.(*tg.UpdateNewChannelMessage); ok {
				if svc, ok := m.Message.(*tg.MessageService); ok {
					got <- svc.Action
				}
			}
		}
		return nil
	})
	err := e.Run(clientOptions{updates: handler}, func(ctx context.Context, c *telegram.Client) error {
		if err := e.login(ctx, c, owner.Phone, ""); err != nil {
			return err
		}
		api := c.API()
		ch, err := createSupergroup(ctx, api, "Updates")
		if err != nil {
			return err
		}
		inv, err := api.MessagesExportChatInvite(ctx, &tg.MessagesExportChatInviteRequest{
			Peer: &tg.InputPeerChannel{ChannelID: ch.ChannelID, AccessHash: ch.AccessHash}, Title: "test",
		})
		if err != nil {
			return err
		}
		link := inv.(*tg.ChatInviteExported).Link
		if res, err := e.w.JoinByLink(hank.ID, link); err != nil || res.Result != "joined" {
			return fmt.Errorf("join: %+v, %v", res, err)
		}
		if err := e.w.Leave(ch.ChannelID, hank.ID); err != nil {
			return err
		}
		// The client may hand updates to the handler in any order.
		want := map[string]bool{"messageActionChatJoinedByLink": true, "messageActionChatDeleteUser": true}
		timeout := time.After(10 * time.Second)
		for len(want) > 0 {
			select {
			case a := <-got:
				delete(want, a.TypeName())
			case <-timeout:
				return fmt.Errorf("updates missing: %v", want)
			case <-ctx.Done():
				return ctx.Err()
			}
		}

		// A client that missed them gets them from channels.getDifference,
		// after the creation message (pts 1).
		diff, err := api.UpdatesGetChannelDifference(ctx, &tg.UpdatesGetChannelDifferenceRequest{Channel: ch, Filter: &tg.ChannelMessagesFilterEmpty{}, Pts: 1, Limit: 100})
		if err != nil {
			return err
		}
		d, ok := diff.(*tg.UpdatesChannelDifference)
		if !ok {
			return fmt.Errorf("difference = %T, want updates.channelDifference", diff)
		}
		var actions []string
		for _, m := range d.NewMessages {
			actions = append(actions, m.(*tg.MessageService).Action.TypeName())
		}
		if fmt.Sprint(actions) != "[messageActionChatJoinedByLink messageActionChatDeleteUser]" || d.Pts != 3 || !d.Final {
			t.Errorf("difference: %v, pts %d, final %v", actions, d.Pts, d.Final)
		}

		// An RPC that adds someone answers with the one service message
		// the box got, pts 4.
		res, err := api.ChannelsInviteToChannel(ctx, &tg.ChannelsInviteToChannelRequest{Channel: ch, Users: []tg.InputUserClass{inputUser(ivy)}})
		if err != nil {
			return err
		}
		var pts []int
		for _, u := range res.Updates.(*tg.Updates).Updates {
			if m, ok := u.(*tg.UpdateNewChannelMessage); ok {
				pts = append(pts, m.Pts)
			}
		}
		if fmt.Sprint(pts) != "[4]" {
			t.Errorf("inviteToChannel answer carries pts %v, want [4]", pts)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
