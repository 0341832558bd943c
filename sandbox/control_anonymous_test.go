package sandbox_test

import (
	"testing"

	"github.com/karmagate/karmagate/sandbox"
	"github.com/karmagate/karmagate/sandbox/sandboxtest"
	"github.com/karmagate/karmagate/sandbox/world"
)

// TestSandbox_AnonymousAdmin: an anonymous admin's message reaches bots
// from @GroupAnonymousBot with sender_chat the group; someone who may not
// post as the group is refused.
func TestSandbox_AnonymousAdmin(t *testing.T) {
	sb := sandboxtest.Start(t, sandbox.Config{NoMTProto: true})
	_, got := startBot(t, sb)
	owner := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Owner"})
	plain := sandboxtest.MustUser(t, sb, world.UserSpec{FirstName: "Plain"})
	c := sandboxtest.MustChat(t, sb, owner.ID, "Anon")
	if err := sb.MakeAdmin(c.BotAPIID(), 0, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sb.World().AddMembers(c.ID, owner.ID, []int64{plain.ID}); err != nil {
		t.Fatal(err)
	}
	if err := sb.MakeAdmin(c.BotAPIID(), plain.ID, &world.AdminRights{CanInviteUsers: true}); err != nil {
		t.Fatal(err)
	}
	got.next(t) // my_chat_member
	if status := control(t, sb, "POST", "/sandbox/users/"+itoa(plain.ID)+"/messages", map[string]any{"chat_id": c.BotAPIID(), "text": "/pending", "anonymous": true}, nil); status != 400 {
		t.Errorf("an admin without is_anonymous posting as the group: %d, want 400", status)
	}
	if status := control(t, sb, "POST", "/sandbox/users/"+itoa(owner.ID)+"/messages", map[string]any{"chat_id": c.BotAPIID(), "text": "/pending", "anonymous": true}, nil); status != 200 {
		t.Fatalf("the creator posting as the group: %d", status)
	}
	up := got.next(t)
	for up.Message == nil { // the chat_member updates of plain's promotion
		up = got.next(t)
	}
	m := up.Message
	if m == nil || m.From == nil || m.From.Username != "GroupAnonymousBot" || !m.From.IsBot || m.SenderChat == nil || m.SenderChat.ID != c.BotAPIID() || m.Text != "/pending" {
		t.Fatalf("anonymous message as the bot sees it: %+v", m)
	}
}
