package mtproto_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gotd/td/telegram"
	"github.com/gotd/td/telegram/updates"
	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_UpdatesManager: gotd's updates manager (pts bookkeeping,
// getState, channel differences) hears joins and departures.
func TestServer_UpdatesManager(t *testing.T) {
	t.Parallel()
	e := newEnv(t, world.Limits{})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000120"})
	jo := e.MustUser(world.UserSpec{FirstName: "Jo"})
	kim := e.MustUser(world.UserSpec{FirstName: "Kim"})

	got := make(chan string, 16)
	d := tg.NewUpdateDispatcher()
	d.OnNewChannelMessage(func(ctx context.Context, _ tg.Entities, u *tg.UpdateNewChannelMessage) error {
		if m, ok := u.Message.(*tg.MessageService); ok {
			got <- m.Action.TypeName()
		}
		return nil
	})
	gaps := updates.New(updates.Config{Handler: d})

	err := e.Run(clientOptions{updates: gaps}, func(ctx context.Context, c *telegram.Client) error {
		if err := e.login(ctx, c, owner.Phone, ""); err != nil {
			return err
		}
		api := c.API()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		started := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- gaps.Run(ctx, api, owner.ID, updates.AuthOptions{OnStart: func(context.Context) { close(started) }})
		}()
		select {
		case <-started:
		case err := <-done:
			return fmt.Errorf("updates manager: %w", err)
		}

		ch, err := createSupergroup(ctx, api, "Managed")
		if err != nil {
			return err
		}
		inv, err := api.MessagesExportChatInvite(ctx, &tg.MessagesExportChatInviteRequest{Peer: &tg.InputPeerChannel{ChannelID: ch.ChannelID, AccessHash: ch.AccessHash}})
		if err != nil {
			return err
		}
		link := inv.(*tg.ChatInviteExported).Link
		expect := func(actions ...string) error {
			want := map[string]int{}
			for _, a := range actions {
				want[a]++
			}
			timeout := time.After(15 * time.Second)
			for len(want) > 0 {
				select {
				case a := <-got:
					if want[a]--; want[a] <= 0 {
						delete(want, a)
					}
				case <-timeout:
					return fmt.Errorf("updates missing: %v", want)
				}
			}
			return nil
		}
		// The manager learns of the supergroup with the first update.
		if _, err := e.w.JoinByLink(jo.ID, link); err != nil {
			return err
		}
		if err := expect("messageActionChatJoinedByLink"); err != nil {
			return err
		}
		// From then on it misses nothing, whatever order the client hands
		// the pushes over in: gaps are filled by channels.getDifference.
		if err := e.w.Leave(ch.ChannelID, jo.ID); err != nil {
			return err
		}
		if _, err := e.w.JoinByLink(kim.ID, link); err != nil {
			return err
		}
		if err := e.w.Leave(ch.ChannelID, kim.ID); err != nil {
			return err
		}
		if err := expect("messageActionChatDeleteUser", "messageActionChatJoinedByLink", "messageActionChatDeleteUser"); err != nil {
			return err
		}
		cancel()
		if err := <-done; err != nil && ctx.Err() == nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
