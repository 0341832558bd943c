package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/karmagate/karmagate/models"
	"github.com/karmagate/karmagate/models/modelstest"
	"github.com/karmagate/karmagate/sandbox/world"
)

func contains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: %q does not say %q", what, got, w)
		}
	}
}

func TestBot_Linking(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		owner := h.person("Owner", "owner_tg")
		h.group(owner, "Webmasters Pro", "webmasters-pro")
		h.put("alice", 150, "webmasters")
		h.putMember(models.MemberInput{ID: "bob", Karma: 150, Groups: []string{"webmasters"}, Username: ptr("bob_tg")})
		alice := h.person("Alice", "alice_tg")
		mallory := h.person("Mallory", "mallory_tg")

		t.Run("start alone explains", func(t *testing.T) {
			got := h.reply(alice.ID, "/start")
			contains(t, "/start", got, "profile", "Connect Telegram")
		})
		t.Run("bad tokens link nothing", func(t *testing.T) {
			good := h.token("alice")
			flipped := []byte(good)
			flipped[3] ^= 1
			if flipped[3] == good[3] || !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", rune(flipped[3])) {
				flipped[3] = 'A' + (good[3]-'A'+1)%26
			}
			expired := h.token("alice")
			for _, tc := range []struct {
				name, param string
				before      func()
				want        string
				fresh       func() string
			}{
				{"malformed", "hello", nil, "not one of mine", nil},
				{"too long", strings.Repeat("A", 64), nil, "not one of mine", nil},
				{"forged", string(flipped), nil, "not valid", nil},
				{"expired", expired, func() { h.clock.Advance(16 * time.Minute) }, "expired", nil},
				{"foreign: bob's link opened by mallory", "", nil, "another Telegram account", func() string { return h.token("bob") }},
			} {
				t.Run(tc.name, func(t *testing.T) {
					if tc.before != nil {
						tc.before()
					}
					if tc.fresh != nil {
						tc.param = tc.fresh()
					}
					// Mallory is no member: one answer a minute.
					h.clock.Advance(time.Minute)
					got := h.reply(mallory.ID, "/start "+tc.param)
					contains(t, tc.name, got, tc.want)
				})
			}
			for _, id := range []string{"alice", "bob"} {
				if v := h.member(id); v.Member.TgUserID != nil {
					t.Errorf("%s linked to %d by a bad token", id, *v.Member.TgUserID)
				}
			}
		})
		t.Run("a good token links and says where to go", func(t *testing.T) {
			tok := h.token("alice")
			got := h.reply(alice.ID, "/start "+tok)
			// The group was bound with nobody inside but its admins:
			// no probe, the link comes with the answer.
			contains(t, "linked", got, "Linked", "alice", "Webmasters Pro", h.joinLink("webmasters-pro"))
			v := h.member("alice")
			if v.Member.TgUserID == nil || *v.Member.TgUserID != alice.ID {
				t.Fatalf("alice linked to %v, want %d", v.Member.TgUserID, alice.ID)
			}
			// Used: once only, even by someone else.
			h.clock.Advance(time.Minute)
			got = h.reply(mallory.ID, "/start "+tok)
			contains(t, "reused token", got, "used already")
			if v := h.member("alice"); *v.Member.TgUserID != alice.ID {
				t.Errorf("a used token relinked alice to %d", *v.Member.TgUserID)
			}
			// The invite does not send the link a second time.
			h.idle()
			n := 0
			for _, m := range h.received(alice.ID) {
				if strings.Contains(m, h.joinLink("webmasters-pro")) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("alice got the join link %d times, want once", n)
			}
		})
		t.Run("the foreign token's owner can still use it", func(t *testing.T) {
			bob := h.person("Bob", "bob_tg")
			got := h.link("bob", bob)
			contains(t, "bob linked", got, "Linked")
		})
		t.Run("relinking from a second account, confirmed by the first", func(t *testing.T) {
			alice2 := h.person("Alice", "alice_new")
			last, _ := h.buttons(alice.ID)
			got := h.link("alice", alice2)
			contains(t, "relink", got, "confirm")
			h.linkedTo("alice", alice.ID)
			ask, bs := h.waitButtons(alice.ID, last.ID)
			before, before2 := len(h.received(alice.ID)), len(h.received(alice2.ID))
			h.press(alice.ID, ask.ID, bs["Confirm"])
			h.linkedTo("alice", alice2.ID)
			h.eventually("the old account told", func() bool { return len(h.received(alice.ID)) > before })
			contains(t, "old account", h.received(alice.ID)[before], "another Telegram account")
			h.eventually("the new account told", func() bool { return len(h.received(alice2.ID)) > before2 })
			contains(t, "new account", h.received(alice2.ID)[before2], "Linked")
			// The same Telegram account taken over by another member.
			h.put("carol", 10, "customers")
			got = h.link("carol", alice2)
			contains(t, "taken over", got, "alice", "carol")
			if v := h.member("alice"); v.Member.TgUserID != nil {
				t.Errorf("alice still linked to %d after carol took the account", *v.Member.TgUserID)
			}
		})
		t.Run("unlink", func(t *testing.T) {
			h.clock.Advance(time.Minute)
			got := h.reply(mallory.ID, "/unlink")
			contains(t, "unlink unlinked", got, "not linked")
			bob := h.member("bob")
			got = h.reply(*bob.Member.TgUserID, "/unlink")
			contains(t, "unlink", got, "Unlinked")
			if v := h.member("bob"); v.Member.TgUserID != nil {
				t.Errorf("bob still linked after /unlink")
			}
		})
	})
}

func TestBot_Contact(t *testing.T) {
	modelstest.Each(t, func(t *testing.T, spec string) {
		h := newHarness(t, spec, harnessOptions{})
		h.putMember(models.MemberInput{ID: "dave", Karma: 150, Groups: []string{"webmasters"}, Phone: ptr("+15550004")})
		dave := sandboxtest_user(t, h, world.UserSpec{FirstName: "Dave", Phone: "+15550004", Privacy: world.PrivacyEverybody})
		erin := sandboxtest_user(t, h, world.UserSpec{FirstName: "Erin", Phone: "+15550005"})
		t.Run("a matching contact links", func(t *testing.T) {
			before := len(h.received(dave.ID))
			if _, err := h.sb.ShareContact(dave.ID); err != nil {
				t.Fatal(err)
			}
			h.eventually("an answer", func() bool { return len(h.received(dave.ID)) > before })
			contains(t, "contact", h.received(dave.ID)[before], "matches", "dave")
			if v := h.member("dave"); v.Member.TgUserID == nil || *v.Member.TgUserID != dave.ID {
				t.Fatalf("dave not linked by his contact")
			}
		})
		t.Run("someone else's contact links nothing", func(t *testing.T) {
			mallory := sandboxtest_user(t, h, world.UserSpec{FirstName: "Mallory", Phone: "+15550006"})
			h.putMember(models.MemberInput{ID: "vic", Karma: 150, Groups: []string{"webmasters"}, Phone: ptr("+15550007")})
			vic := sandboxtest_user(t, h, world.UserSpec{FirstName: "Vic", Phone: "+15550007"})
			before := len(h.received(mallory.ID))
			// Mallory shares Vic's contact card, with Vic's user id in it.
			_, err := h.sb.World().SendMessage(mallory.ID, h.bot.ID(), "", world.SendOptions{Contact: &world.Contact{PhoneNumber: "+15550007", FirstName: "Vic", UserID: vic.ID}})
			if err != nil {
				t.Fatal(err)
			}
			h.eventually("an answer", func() bool { return len(h.received(mallory.ID)) > before })
			contains(t, "foreign contact", h.received(mallory.ID)[before], "your own contact")
			if v := h.member("vic"); v.Member.TgUserID != nil {
				t.Fatalf("vic linked to %d by a contact mallory shared", *v.Member.TgUserID)
			}
		})
		t.Run("a phone no member has", func(t *testing.T) {
			before := len(h.received(erin.ID))
			if _, err := h.sb.ShareContact(erin.ID); err != nil {
				t.Fatal(err)
			}
			h.eventually("an answer", func() bool { return len(h.received(erin.ID)) > before })
			contains(t, "no match", h.received(erin.ID)[before], "No website account")
		})
	})
}

func ptr[T any](v T) *T { return &v }

func sandboxtest_user(t *testing.T, h *harness, spec world.UserSpec) world.User {
	t.Helper()
	u, err := h.sb.CreateUser(spec)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
