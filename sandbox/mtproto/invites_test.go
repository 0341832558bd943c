package mtproto_test

import (
	"context"
	"testing"
	"time"

	"github.com/gotd/td/tg"

	"github.com/karmagate/karmagate/sandbox/world"
)

// TestServer_ImportChatInvite: an account joins a supergroup with an
// invite link's hash and gets the channel (with its access hash) in the
// updates; a one-use link admits one, a join-request link sends a request,
// and an unknown, used or empty hash is refused with Telegram's error.
func TestServer_ImportChatInvite(t *testing.T) {
	e := newEnv(t, world.Limits{})
	owner := e.MustUser(world.UserSpec{FirstName: "Owner", Phone: "+15550000070"})
	first := e.MustUser(world.UserSpec{FirstName: "First", Phone: "+15550000071"})
	second := e.MustUser(world.UserSpec{FirstName: "Second", Phone: "+15550000072"})
	c, err := e.w.CreateSupergroup(owner.ID, "Club", "")
	if err != nil {
		t.Fatal(err)
	}
	once, err := e.w.CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{MemberLimit: 1, ExpireDate: e.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ask, err := e.w.CreateInviteLink(c.ID, owner.ID, world.InviteLinkSpec{CreatesJoinRequest: true})
	if err != nil {
		t.Fatal(err)
	}
	e.RunAs(first.Phone, "", func(ctx context.Context, api *tg.Client) error {
		res, err := api.MessagesImportChatInvite(ctx, world.InviteHash(once.Link))
		if err != nil {
			t.Fatalf("import: %v", err)
		}
		ok, isOK := res.(*tg.MessagesChatInviteJoinResultOk)
		if !isOK {
			t.Fatalf("import answered %T", res)
		}
		upd, _ := ok.Updates.(*tg.Updates)
		var ch *tg.Channel
		if upd != nil {
			for _, x := range upd.Chats {
				if c, isCh := x.(*tg.Channel); isCh {
					ch = c
				}
			}
		}
		if ch == nil || ch.ID != c.ID || ch.AccessHash == 0 {
			t.Fatalf("no channel with an access hash in %+v", ok.Updates)
		}
		_, err = api.MessagesImportChatInvite(ctx, world.InviteHash(once.Link))
		wantRPC(t, err, 400, "USER_ALREADY_PARTICIPANT")
		return nil
	})
	if !e.w.Member(c.ID, first.ID).Status.IsMember() {
		t.Fatal("first is not inside")
	}
	e.RunAs(second.Phone, "", func(ctx context.Context, api *tg.Client) error {
		for _, tc := range []struct {
			hash, want string
			code       int
		}{
			{world.InviteHash(once.Link), "INVITE_HASH_EXPIRED", 406}, // used up
			{"nosuchhash", "INVITE_HASH_INVALID", 400},
			{"", "INVITE_HASH_EMPTY", 400},
			{world.InviteHash(ask.Link), "INVITE_REQUEST_SENT", 400},
		} {
			_, err := api.MessagesImportChatInvite(ctx, tc.hash)
			wantRPC(t, err, tc.code, tc.want)
		}
		return nil
	})
	if e.w.Member(c.ID, second.ID).Status.IsMember() {
		t.Error("second got in")
	}
}
